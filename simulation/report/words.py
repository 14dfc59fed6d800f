"""The report's messages added with issue 19 (precision, the director's sentences, the glossary,
comparisons in percentage points, workbook headers), English and Chinese; :mod:`.i18n` merges them
into its table (one key, one pair; a key in both is an error)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ precision
    "needs_paths": ("needs {n} paths", "需 {n} 条路径"),
    "interval_needs_paths": ("[5–95%: needs {n} paths]", "[5%–95% 区间需 {n} 条路径]"),
    # ------------------------------------------------------------------ the director's key messages
    "key_messages": ("Key messages", "要点"),
    "km_insurer": (
        "{fund}, {years}: expected [[claims|claims]] of {claims} {unit} against [[financing|financing]] "
        "of {premium} {unit} ({ratio} of it). The insurer's expected [[insurer_result|result]] after "
        "operating cost is {result} {unit} ({margin} of financing), with a [[p_loss|chance of a loss]] "
        "of {p_loss}; it expects to return {clawback} {unit} as [[clawback|clawback]] and to receive "
        "{subsidy} {unit} as [[subsidy|policy-change subsidy]].",
        "{fund}，{years}：预期[[claims|赔付]] {claims} {unit}，[[financing|筹资]] {premium} {unit}"
        "（赔付率 {ratio}）。承办机构扣除经营费用后的预期[[insurer_result|经营结果]]为 {result} {unit}"
        "（占筹资 {margin}），[[p_loss|亏损概率]] {p_loss}；预期[[clawback|返还]] {clawback} {unit}，"
        "获得[[subsidy|政策调整补贴]] {subsidy} {unit}。",
    ),
    "km_costplus": (
        "{fund}, {years}: expected [[claims|claims]] of {claims} {unit} against [[financing|financing]] "
        "of {premium} {unit} ({ratio} of it). Under cost-plus the finance account pays the insurer's "
        "management fee; its expected [[insurer_result|result]] after operating cost is {result} "
        "{unit} ({margin} of financing), with a [[p_loss|chance of a loss]] of {p_loss}.",
        "{fund}，{years}：预期[[claims|赔付]] {claims} {unit}，[[financing|筹资]] {premium} {unit}"
        "（赔付率 {ratio}）。成本加成合同下由财政支付承办机构管理费；其扣除经营费用后的预期"
        "[[insurer_result|经营结果]]为 {result} {unit}（占筹资 {margin}），[[p_loss|亏损概率]] {p_loss}。",
    ),
    "km_no_insurer": (
        "{fund}, {years}: expected [[claims|claims]] of {claims} {unit} against [[financing|financing]] "
        "of {premium} {unit} ({ratio} of it); its [[balance|balance]] over these years is {surplus} "
        "{unit}. {note}",
        "{fund}，{years}：预期[[claims|赔付]] {claims} {unit}，[[financing|筹资]] {premium} {unit}"
        "（赔付率 {ratio}）；这些年度的[[balance|收支结余]]为 {surplus} {unit}。{note}",
    ),
    "km_no_insurer_default": (
        "No insurer runs this fund: a [[deficit|deficit]] is claims above the year's financing, met "
        "from its balance or by the finance account.",
        "本基金无承办机构：[[deficit|赤字]]指赔付超过当年筹资，由基金结余或财政弥补。",
    ),
    "km_population": (
        "In an average year {share} of the insured have [[catastrophic|catastrophic out-of-pocket "
        "cost]] (out-of-pocket above {threshold} of household income).",
        "平均每年有 {share} 的参保人发生[[catastrophic|灾难性自付费用]]（自付超过家庭收入的 {threshold}）。",
    ),
    "balance_note_label": ("What the balance means", "结余的含义"),
    # ------------------------------------------------------------------ glossary
    "glossary": ("Glossary", "术语表"),
    "g_financing": ("Financing", "筹资"),
    "gdef_financing": (
        "Money raised for a fund in a year: financing per head times the insured persons (the "
        "premium an insurer receives).",
        "一年内为基金筹集的资金：人均筹资标准乘以参保人数（即承办机构收到的保费）。",
    ),
    "g_claims": ("Claims", "赔付"),
    "gdef_claims": (
        "What a fund's layers of cover pay for the year's admissions (its expected value is the mean "
        "over the simulated paths).",
        "基金各保障层次为当年就医支付的金额（期望值为全部模拟路径的平均）。",
    ),
    "g_balance": ("Balance", "结余"),
    "gdef_balance": (
        "Financing minus claims, added up over the years from the opening balance; it carries "
        "earlier years' results, so it can stay positive in a year of deficit.",
        "筹资减赔付，自期初结余起逐年累计；它包含以往年度的结果，因此在赤字年度仍可能为正。",
    ),
    "g_deficit": ("Deficit", "赤字"),
    "gdef_deficit": (
        "A year whose claims exceed that year's financing (the year's balance of payments is "
        "negative), whatever the accumulated balance. Its probability is the share of paths with one.",
        "某年赔付超过当年筹资（当年收支为负），与累计结余无关。其概率为出现赤字的路径所占比例。",
    ),
    "g_insurer_result": ("Insurer's result", "承办机构经营结果"),
    "gdef_insurer_result": (
        "What the insurer keeps: financing minus claims and operating cost, after the cap (surplus "
        "above it is clawed back) and any policy-change subsidy.",
        "承办机构留存的部分：筹资减赔付和经营费用，经封顶（超出部分返还）并计入政策调整补贴之后。",
    ),
    "g_p_loss": ("Probability of a loss", "亏损概率"),
    "gdef_p_loss": (
        "The share of paths on which the insurer's result over the contract is below zero.",
        "承办机构在合同期内经营结果为负的路径所占比例。",
    ),
    "g_clawback": ("Clawback", "返还"),
    "gdef_clawback": (
        "The insurer's surplus above the profit cap, returned to the finance account.",
        "承办机构超过利润上限的盈余，返还财政专户。",
    ),
    "g_subsidy": ("Policy-change subsidy", "政策调整补贴"),
    "gdef_subsidy": (
        "What the government pays the insurer for the extra claims a change of policy caused during "
        "the contract (the new rules against the old on the same people).",
        "合同期内政策调整导致的新增赔付由政府补偿承办机构的金额（同一人群新旧规则之差）。",
    ),
    "g_catastrophic": ("Catastrophic out-of-pocket cost", "灾难性自付费用"),
    "gdef_catastrophic": (
        "A person's out-of-pocket cost in a year above the scenario's share of household income.",
        "个人一年的自付费用超过情景设定的家庭收入比例。",
    ),
    "g_se": ("Standard error (±)", "标准误（±）"),
    "gdef_se": (
        "The Monte Carlo error of an estimate: the spread of the mean over repeated runs with other "
        "seeds; more paths make it smaller (by the square root of their number).",
        "估计值的蒙特卡洛误差：以不同随机种子重复运行时均值的离散程度；路径越多误差越小（按路径数的平方根）。",
    ),
    "g_pp": ("Percentage point (pp)", "百分点"),
    "gdef_pp": (
        "The difference of two percentages: from 20% to 25% is +5 pp (a relative change of +25%).",
        "两个百分比之差：由 20% 升至 25% 为 +5 个百分点（相对变化 +25%）。",
    ),
    "g_var": ("VaR (value at risk)", "VaR（在险价值）"),
    "gdef_var": (
        "The loss exceeded on only a given share of paths (e.g. 0.5% for VaR 99.5%); it needs about "
        "10 paths beyond it, so 2,000 paths for 99.5%.",
        "仅在给定比例路径上被超过的损失（如 VaR 99.5% 对应 0.5%）；其外需约 10 条路径，即 99.5% 需 2,000 条。",
    ),
    "g_tvar": ("TVaR (tail value at risk)", "TVaR（尾部在险价值）"),
    "gdef_tvar": (
        "The mean loss on the paths beyond the VaR.",
        "超过 VaR 的路径上的平均损失。",
    ),
    "g_break_even": ("Break-even financing", "盈亏平衡筹资"),
    "gdef_break_even": (
        "The financing per head at which the insurer's expected result is zero.",
        "使承办机构预期经营结果为零的人均筹资。",
    ),
    # ------------------------------------------------------------------ comparisons
    "pp": ("pp", "个百分点"),
    "of_financing": ("of financing", "（占筹资）"),
    "col_impact": ("Size of the change", "变化幅度"),
    "changed_most": ("What changed most", "变化最大的指标"),
    "changed_most_intro": (
        "The largest changes over {period}, on one scale: a probability's change in percentage "
        "points, a money change in percentage points of the fund's financing.",
        "{period} 期间变化最大的指标，统一口径：概率的变化以百分点计，金额的变化以占基金筹资的百分点计。",
    ),
    # ------------------------------------------------------------------ the bid curve
    "bc_heading": ("Bid curve", "投标曲线"),
    "fig_bid_curve": (
        "{fund}: the insurer's result against its bid",
        "{fund}：承办机构经营结果与投标筹资",
    ),
    "bc_result": ("Expected net result", "预期净经营结果"),
    "bc_clawback": ("Expected clawback", "预期返还"),
    "bc_p_loss": ("P(loss), % (right)", "亏损概率，%（右轴）"),
    "bc_axis_bid": ("Financing per head (yuan)", "人均筹资（元）"),
    "bc_axis_p_loss": ("P(loss) over the term (%)", "合同期亏损概率（%）"),
    "bc_margin_why": (
        "{fund}: a {margin} expected margin needs {fin} yuan per head against a break-even of "
        "{be}, because the {cap} cap includes the operating cost ({cost} of financing): the "
        "insurer keeps at most {cap} minus its cost, so its expected result rises only slowly "
        "with the bid, and a margin near what the cap leaves needs financing at which almost "
        "every path reaches the cap.",
        "{fund}：期望利润率达到 {margin} 需人均筹资 {fin} 元，而盈亏平衡为 {be} 元，因为 {cap} 的上限"
        "包含经营费用（占筹资 {cost}）：承办机构最多保留 {cap} 减去其费用，预期结果随投标增长缓慢，"
        "接近上限所余空间的利润率需要几乎每条路径都达到上限的筹资水平。",
    ),
}
