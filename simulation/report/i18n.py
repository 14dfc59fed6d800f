"""Every label and heading of a report, in English (the default) and Chinese.

A :class:`Translator` looks a message up by key; ``Translator("zh")("p_deficit")`` gives
"赤字概率". A message may hold ``{placeholders}`` filled from keyword arguments. A key missing in a
language is an error (a test checks that both languages have every key), never a silent English.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FundsimError
from .words import WORDS

LANGS = ("en", "zh")

MESSAGES: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ page and sections
    "report_title": ("Scenario report: {title}", "情景分析报告：{title}"),
    "generated": (
        "Generated {when} by fundsim {version}: {paths} paths, seed {seed}, {years} policy years.",
        "生成时间 {when}，fundsim {version}：模拟路径 {paths} 条，随机种子 {seed}，保单年度 {years} 个。",
    ),
    "contents": ("Contents", "目录"),
    "sec_summary": ("Summary for decision makers", "决策摘要"),
    "sec_funds": (
        "Fund balances and the insurer's cumulative result",
        "基金结余与承办机构累计经营结果",
    ),
    "sec_insurer": ("The insurer's annual result", "承办机构年度经营结果"),
    "sec_claims": ("Claims by layer and by category", "按保障层次和人群类别的赔付"),
    "sec_catastrophic": ("Catastrophic out-of-pocket cost", "灾难性自付医疗费用"),
    "sec_comparison": ("Variants compared with the base", "方案与基准情景比较"),
    "sec_methods": ("Methods appendix", "方法附录"),
    "summary_intro": (
        "Expected values per policy year over {paths} simulated paths. "
        "± is the Monte Carlo standard error of the estimate; the range in brackets holds 90% of "
        "the simulated outcomes (5th to 95th percentile). Money in {unit}.",
        "各保单年度的期望值，基于 {paths} 条模拟路径。± 为估计值的蒙特卡洛标准误；方括号内为 90% "
        "模拟结果所在区间（第 5 至第 95 百分位）。金额单位：{unit}。",
    ),
    "funds_intro": (
        "Shaded bands hold 90% (light) and 50% (dark) of the simulated paths; the line is the "
        "median. A fund's balance accumulates financing minus claims from its opening balance.",
        "浅色带包含 90% 的模拟路径，深色带包含 50%，实线为中位数。基金结余为期初结余加历年筹资减赔付。",
    ),
    "insurer_intro": (
        "The insurer's result before its own operating cost, as a percentage of {base}, all policy "
        "years pooled. The contract caps it at {cap} (surplus above is clawed back); below zero "
        "the insurer bears the loss.",
        "承办机构经营结果（含其运营成本之前），占{base}的百分比，各保单年度合并。合同规定上限为 {cap}"
        "（超出部分返还财政）；低于零时亏损由承办机构承担。",
    ),
    "insurer_costplus": (
        "{fund}: cost-plus contract; the insurer is paid {rate} of the claims and bears no "
        "underwriting risk, so its result has no distribution to show.",
        "{fund}：成本加成合同，承办机构按赔付额的 {rate} 获得管理费用，不承担承保风险，故无结果分布。",
    ),
    "insurer_none": (
        "No fund in this scenario is run by an insurer.",
        "本情景中没有由商业保险机构承办的基金。",
    ),
    "claims_intro": (
        "Expected claims paid per year ({unit}); whiskers show ±1.96 Monte Carlo standard errors.",
        "每年期望赔付（{unit}）；误差线为 ±1.96 个蒙特卡洛标准误。",
    ),
    "catastrophic_intro": (
        "Share of persons whose out-of-pocket cost exceeds {share} of household income per person, "
        "by category at the start of the year.",
        "自付医疗费用超过人均家庭收入 {share} 的人员比例，按年初人群类别。",
    ),
    "comparison_intro": (
        "Each variant is run with the same seed and paths as the base, so both see the same "
        "simulated people, illnesses and costs (common random numbers). The table gives the "
        "difference and the standard error of the difference computed path by path, which is "
        "much smaller than that of two independent runs. Money in {unit}. Measures that do not "
        "change are left out here (they are in comparison.csv).",
        "各方案与基准情景使用相同的随机种子与路径数，因而模拟的人员、疾病与费用完全相同（共同随机数）。"
        "表中给出逐路径计算的差值及其标准误，远小于两次独立模拟之差的标准误。金额单位：{unit}。"
        "未变化的指标不在此列出（见 comparison.csv）。",
    ),
    "no_variants": (
        "No variant was given: run `fundsim report BASE VARIANT ...` to compare scenarios.",
        "未指定比较方案：使用 `fundsim report 基准情景 方案 ...` 进行比较。",
    ),
    "methods_intro": (
        "Everything needed to reproduce this report: the scenario as resolved (after `extends`), "
        "the seed and number of paths, and the toolkit's version.",
        "复现本报告所需的全部信息：解析后的情景（含 `extends` 合并）、随机种子、路径数以及软件版本。",
    ),
    "mc_errors_intro": (
        "Monte Carlo standard errors of the main estimates (standard deviation over paths divided "
        "by the square root of the number of paths). Relative error = SE / |mean|.",
        "主要估计值的蒙特卡洛标准误（各路径标准差除以路径数的平方根）。相对误差 = 标准误 / |均值|。",
    ),
    "exact_intro": (
        "For the first policy year, each fund's claims are also computed without simulation by "
        "the exact (FFT) method. z = (Monte Carlo - exact) / SE; |z| below 4 is agreement. A "
        "larger gap comes from what the exact method approximates (see its notes: e.g. persons "
        "whose category changes within the year), and its size is in the relative difference. Money in {unit}.",
        "对第一个保单年度，各基金赔付同时用精确方法（快速傅里叶变换）计算，无需随机模拟。"
        "z =（蒙特卡洛 - 精确值）/ 标准误；|z| 小于 4 视为一致。更大的差异来自精确方法的简化"
        "（见其说明，如年内类别变化的人员），其大小见相对差异一列。金额单位：{unit}。",
    ),
    "exact_unavailable": (
        "exact method not available for this scenario: {reason}",
        "本情景无法使用精确方法：{reason}",
    ),
    "exact_skipped": ("exact method not run (--no-exact)", "未运行精确方法（--no-exact）"),
    "resolved_scenario": ("Resolved scenario (TOML)", "解析后的情景文件（TOML）"),
    "run_info": ("Run", "运行信息"),
    "warnings": ("Warnings", "警告"),
    "downloads": (
        "The data behind every table and figure is in the CSV files next to this page and in "
        "report.xlsx (one sheet per table).",
        "所有表格与图形的数据见本页同目录下的 CSV 文件及 report.xlsx（每个表格一个工作表）。",
    ),
    # ------------------------------------------------------------------ measures
    "premium": ("Financing raised", "筹资总额"),
    "claims": ("Expected claims", "预期赔付"),
    "claims_short": ("Claims", "赔付"),
    "p_deficit": ("Probability of deficit", "当年赤字概率"),
    "clawback": ("Expected clawback to finance", "预期返还财政金额"),
    "subsidy": ("Expected policy-change subsidy", "预期政策调整补贴"),
    "insurer_result": ("Insurer's result", "承办机构经营结果"),
    "insurer_result_net": ("Insurer's result after operating cost", "承办机构扣除运营成本后结果"),
    "balance": ("Fund balance (end of year)", "基金累计结余（年末）"),
    "insurer_cumulative": ("Insurer's cumulative result", "承办机构累计经营结果"),
    "finance_account": ("Finance account, cumulative", "财政专户累计净额"),
    "catastrophic_share": ("Share with catastrophic OOP", "灾难性自付费用发生率"),
    "catastrophic_count": ("Persons with catastrophic OOP", "灾难性自付费用人数"),
    "p_insurer_loss": ("Probability of an insurer loss", "承办机构亏损概率"),
    "claims_systematic_share": (
        "Systematic share of the claims' variance",
        "赔付方差中系统性风险占比",
    ),
    "population": ("Population", "人群"),
    # ------------------------------------------------------------------ table headings
    "col_fund": ("Fund", "基金"),
    "col_measure": ("Measure", "指标"),
    "col_year": ("Year", "年度"),
    "col_period": ("Period", "期间"),
    "col_variant": ("Variant", "方案"),
    "col_base": ("Base", "基准"),
    "col_variant_value": ("Variant", "方案值"),
    "col_difference": ("Difference ± SE", "差值 ± 标准误"),
    "col_relative": ("Change", "变化率"),
    "col_independent_se": ("SE if run independently", "独立模拟时的标准误"),
    "col_mean": ("Mean", "均值"),
    "col_se": ("SE", "标准误"),
    "col_rel_se": ("Relative error", "相对误差"),
    "col_exact": ("Exact", "精确值"),
    "col_mc": ("Monte Carlo", "蒙特卡洛"),
    "col_z": ("z", "z"),
    "col_rel_diff": ("Relative difference", "相对差异"),
    "col_agrees": ("Agrees", "一致"),
    "col_quantity": ("Quantity", "量"),
    "col_layer": ("Layer", "保障层次"),
    "col_category": ("Category", "人群类别"),
    "col_persons": ("Persons", "人数"),
    "col_claimants": ("Claimants", "获赔人数"),
    "col_share": ("Share", "比例"),
    "col_key": ("Item", "项目"),
    "col_value": ("Value", "值"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "exact_mean": ("Mean claims", "赔付均值"),
    "exact_sd": ("Standard deviation", "标准差"),
    "exact_q95": ("95th percentile", "第 95 百分位"),
    "exact_q995": ("99.5th percentile", "第 99.5 百分位"),
    "exact_p_deficit": ("Probability of deficit", "赤字概率"),
    "exact_resid_mean": (
        "Mean of (claims - E[claims | factors]) / SD[claims | factors]",
        "标准化残差（赔付减给定因子条件均值，除以条件标准差）的均值",
    ),
    "exact_resid_sd": ("SD of the standardised residuals", "标准化残差的标准差"),
    "exact_resid_ks_p": (
        "KS p-value of the residuals against the exact conditional law",
        "残差对精确条件分布的 KS 检验 p 值",
    ),
    "exact_notes": ("Notes from the exact method", "精确方法说明"),
    # ------------------------------------------------------------------ run info
    "info_scenario": ("Scenario", "情景"),
    "info_file": ("Scenario file", "情景文件"),
    "info_seed": ("Seed", "随机种子"),
    "info_paths": ("Paths", "路径数"),
    "info_years": ("Policy years", "保单年度"),
    "info_version": ("fundsim version", "fundsim 版本"),
    "info_commit": ("Git commit", "Git 提交"),
    "info_sha": ("Scenario SHA-256", "情景 SHA-256"),
    "info_runtime": ("Run time", "运行时间"),
    "info_variants": ("Variants", "比较方案"),
    "info_lang": ("Language", "语言"),
    # ------------------------------------------------------------------ figures
    "fig_balance": ("Fund balance at the end of each year", "各年末基金累计结余"),
    "fig_insurer_cumulative": (
        "Insurer's cumulative result over the contract term",
        "合同期内承办机构累计经营结果",
    ),
    "fig_result_dist": ("Distribution of the insurer's annual result", "承办机构年度经营结果分布"),
    "fig_layers": ("Claims paid by layer", "各保障层次赔付"),
    "fig_categories": ("Claims paid by category (all layers)", "各人群类别赔付（全部保障层次）"),
    "fig_catastrophic": (
        "Share of persons with catastrophic out-of-pocket cost",
        "发生灾难性自付医疗费用的人员比例",
    ),
    "fig_tornado": ("Change against the base ({period})", "相对基准情景的变化（{period}）"),
    "axis_year": ("Policy year", "保单年度"),
    "axis_money": ("{unit}", "{unit}"),
    "axis_share_pct": ("Share of persons (%)", "人员比例（%）"),
    "axis_result_pct": ("Result, % of {base}", "经营结果占{base}百分比（%）"),
    "axis_paths_pct": ("Share of path-years (%)", "路径-年份占比（%）"),
    "axis_change": (
        "Change against the base ({unit}), ±1.96 SE",
        "相对基准的变化（{unit}），±1.96 标准误",
    ),
    "legend_band90": ("5-95%", "5%-95%"),
    "legend_band50": ("25-75%", "25%-75%"),
    "legend_median": ("median", "中位数"),
    "legend_mean": ("mean", "均值"),
    "legend_cap": ("cap {cap}", "上限 {cap}"),
    "legend_zero": ("zero (loss below)", "零（以下为亏损）"),
    "legend_p_loss": ("P(result < 0) = {p}", "P(结果 < 0) = {p}"),
    "legend_at_cap": ("{p} at the cap", "{p} 达到上限"),
    "legend_at_cap_cut": ("{p} at the cap (bar cut)", "{p} 达到上限（柱形截断）"),
    "legend_p_cap": ("P(at cap) = {p}", "P(达到上限) = {p}"),
    "base_premium": ("financing raised", "筹资额"),
    "base_claims": ("claims paid", "赔付额"),
    "unit_yuan": ("yuan", "元"),
    "unit_10k_yuan": ("10k yuan", "万元"),
    "unit_100m_yuan": ("100M yuan", "亿元"),
    "per_year": ("per year", "每年"),
    # ------------------------------------------------------------------ tender pricing (issue 7)
    "sec_pricing": ("Tender pricing for the insurer", "承办机构投标定价"),
    "pricing_intro": (
        "What an insurer bidding for each contract would ask, priced on the same simulated paths "
        "as the rest of this report ({paths} paths; pricing horizon {years}). The same claims are "
        "re-settled under the contract for each trial financing (common random numbers), and each "
        "solution is found by a root finder. Per-head amounts are in yuan per financed "
        "person-year, totals in {unit}. ± and the SE column are Monte Carlo standard errors. VaR "
        "and TVaR are losses over the horizon stated as positive numbers (a negative value is a "
        "gain at that level).",
        "以本报告相同的模拟路径（{paths} 条；定价期间 {years}）测算商业保险机构投标时关心的指标。"
        "对每个试算筹资标准，在同一批模拟赔付上重新按合同结算（共同随机数），并用求根算法求解。"
        "人均金额单位为元/参保人年，总额单位为{unit}。± 及标准误列为蒙特卡洛标准误。VaR 与 TVaR "
        "为定价期间内的损失，以正数表示（负值表示该水平下仍有盈余）。",
    ),
    "pricing_lead": (
        "{fund}: expected claims plus operating cost come to {cost} yuan per head, but the "
        "break-even financing is {be} yuan per head, {gap} yuan more. The gap is what the "
        "{cap} profit cap costs the insurer: in good years the surplus above the cap is clawed "
        "back to the finance account, in bad years the insurer bears the whole loss, so the "
        "financing must cover more than the expected cost. The scenario's financing is {fin} "
        "yuan per head.",
        "{fund}：每人期望赔付加运营成本为 {cost} 元，但盈亏平衡筹资标准为每人 {be} 元，高出 {gap} "
        "元。这一差额就是 {cap} 利润上限给承办机构带来的代价：年景好时超出上限的结余返还财政，"
        "年景差时亏损全部由承办机构承担，因此筹资必须高于期望成本。本情景的筹资标准为每人 {fin} 元。",
    ),
    "pricing_lead_costplus": (
        "{fund}: cost-plus contract; the management rate that covers the insurer's operating "
        "cost is {rate} of the claims paid.",
        "{fund}：成本加成合同；足以覆盖承办机构运营成本的管理费率为赔付额的 {rate}。",
    ),
    "pricing_unavailable": (
        "{fund}: tender pricing not available: {reason}",
        "{fund}：无法进行投标定价：{reason}",
    ),
    "col_unit": ("Unit", "单位"),
    "col_value_se": ("Value ± SE", "值 ± 标准误"),
    "pm_scenario_financing": ("Scenario's financing per head", "情景筹资标准（每人）"),
    "pm_result": (
        "Expected result after operating cost at that financing",
        "该筹资标准下扣除运营成本后的期望经营结果",
    ),
    "pm_p_loss": ("Probability of a loss at that financing", "该筹资标准下的亏损概率"),
    "pm_var": (
        "VaR {level} at that financing (loss)",
        "该筹资标准下的风险价值 VaR {level}（损失）",
    ),
    "pm_tvar": (
        "TVaR {level} at that financing (loss)",
        "该筹资标准下的尾部风险价值 TVaR {level}（损失）",
    ),
    "pm_clawback": (
        "Expected clawback given up at that financing",
        "该筹资标准下预期返还财政金额",
    ),
    "pm_costplus_rate": ("Break-even management rate", "盈亏平衡管理费率"),
    "pm_claims_ph": ("Expected claims per head", "每人期望赔付"),
    "pm_cost_ph": (
        "Expected claims + operating cost per head (break-even without the cap)",
        "每人期望赔付加运营成本（无利润上限时的盈亏平衡点）",
    ),
    "pm_break_even": ("Break-even financing per head", "盈亏平衡筹资标准（每人）"),
    "pm_gap": (
        "Gap: what the profit cap costs (break-even − expected cost)",
        "差额：利润上限的代价（盈亏平衡筹资 − 期望成本）",
    ),
    "pm_margin": (
        "Financing for a {margin} expected margin",
        "期望利润率达到 {margin} 所需筹资标准",
    ),
    "pm_loss_prob": (
        "Financing keeping P(loss) ≤ {p}",
        "亏损概率不超过 {p} 所需筹资标准",
    ),
    "pm_paths": (
        "Paths needed for ±{width} yuan ({conf}) on the break-even",
        "盈亏平衡筹资精确到 ±{width} 元（{conf}）所需路径数",
    ),
    "pu_yuan_per_head": ("yuan per head", "元/人"),
    "pu_probability": ("probability", "概率"),
    "pu_loss": ("{unit}, loss > 0", "{unit}，损失为正"),
    "pu_fraction_of_claims": ("of claims paid", "占赔付额"),
    "pu_paths": ("paths", "条路径"),
    # ------------------------------------------------------------------ cash flows (issue 8)
    "sec_cashflow": (
        "Cash flows within the year and the year-end settlement",
        "年内现金流与年终结算",
    ),
    "cashflow_intro": (
        "When money moves in the special account of each fund run by an insurer: financing "
        "transfers in (pre-allocation, true-up after the roster is approved, entrants' financing "
        "a year late), claim payments out, and the year-end settlement. Simulated on the first "
        "{k} of the report's {paths} paths, with the same people, admissions and costs as the "
        "annual engine (each year's claims equal the engine's on every path; only dates are "
        "added). With so few paths the bands are coarse: run `fundsim cashflow` for more. "
        "{one_stop} of claims are settled one-stop at discharge, the rest reimbursed on "
        "application after a reporting and a payment lag. Money in {unit}.",
        "各商业保险承办基金专户的资金流动时间：筹资拨付（预拨、名册核定后的清算、新增人员次年补拨）、"
        "赔款支付以及年终结算。基于本报告 {paths} 条路径中的前 {k} 条模拟，人员、住院与费用与年度"
        "模型完全相同（每条路径各年赔付与年度模型一致，仅增加发生时间）。路径较少，分布带较粗略："
        "更多路径请使用 `fundsim cashflow`。{one_stop} 的赔付在出院时“一站式”结算，其余在申请后"
        "经报案与支付时滞报销。金额单位：{unit}。",
    ),
    "cashflow_lead": (
        "{fund}: the lowest balance on the {k} paths was {low} ({unit}), on {date}; the "
        "balance fell below zero at some time in {p_neg} of the path-years. Settling on paid "
        "claims claws back {err_paid} ({unit}) a year more than settling on the true incurred "
        "claims; on paid claims plus the chain-ladder estimate, {err_cl}.",
        "{fund}：{k} 条路径中最低余额为 {low}（{unit}），出现在 {date}；{p_neg} 的路径-年份中余额曾"
        "低于零。按已付赔款结算，每年比按真实已发生赔款结算多返还 {err_paid}（{unit}）；按已付赔款加"
        "链梯法估计结算，多返还 {err_cl}。",
    ),
    "cashflow_unavailable": (
        "{fund}: cash flows not available: {reason}",
        "{fund}：无法模拟现金流：{reason}",
    ),
    "cashflow_none": (
        "No fund in this scenario is run by an insurer: no special account to follow.",
        "本情景中没有由商业保险机构承办的基金，无专户现金流可分析。",
    ),
    "liquidity_heading": ("Liquidity of the special account", "专户流动性"),
    "settlement_heading": (
        "Year-end settlement: clawback on paid, estimated and true incurred claims",
        "年终结算：按已付、估计与真实已发生赔款计算的返还额",
    ),
    "settlement_intro": (
        "At the settlement date (end of month {month} of the next year) some claims of the year "
        "are not yet paid, or not yet reported. The clawback is computed on the true incurred "
        "claims (known only to the simulation), on the claims paid by then, and on paid or "
        "reported claims plus a chain-ladder estimate of the rest (triangles of the simulated "
        "paths). Error = clawback on that basis − clawback on the true incurred claims; positive: "
        "the finance account claws back too much. The contract settles on: {basis}.",
        "结算日（次年第 {month} 月末）当年部分赔款尚未支付或尚未报案。返还额分别按真实已发生赔款"
        "（仅模拟中可知）、截至结算日已付赔款、以及已付或已报案赔款加链梯法估计的剩余部分（基于模拟路径"
        "的进展三角形）计算。误差 = 该口径返还额 − 按真实已发生赔款计算的返还额；为正表示财政多返还。"
        "合同结算口径：{basis}。",
    ),
    "col_lowest": ("Lowest balance (mean ± SE)", "最低余额（均值 ± 标准误）"),
    "col_lowest_q05": ("Lowest balance, 5%", "最低余额第 5 百分位"),
    "col_lowest_min": ("Lowest of all paths", "全部路径最低值"),
    "col_lowest_date": ("on", "日期"),
    "col_lowest_median_date": ("Median date of the lowest", "最低余额日期中位数"),
    "col_p_negative": ("P(balance < 0) ± SE", "余额为负的概率 ± 标准误"),
    "col_days_negative": ("Days below zero (mean)", "余额为负天数（均值）"),
    "col_balance_end": ("Balance at year end ± SE", "年末余额 ± 标准误"),
    "col_basis": ("Settled on", "结算口径"),
    "col_claims_basis": ("Claims on that basis ± SE", "该口径赔款 ± 标准误"),
    "col_clawback": ("Clawback ± SE", "返还额 ± 标准误"),
    "col_error": ("Error vs true ± SE", "相对真实值误差 ± 标准误"),
    "basis_true": ("True incurred claims", "真实已发生赔款"),
    "basis_paid": ("Paid claims", "已付赔款"),
    "basis_paid_cl": ("Paid + chain ladder (paid triangle)", "已付赔款 + 链梯法（已付三角形）"),
    "basis_reported_cl": (
        "Reported + chain ladder (reported triangle)",
        "已报案赔款 + 链梯法（已报案三角形）",
    ),
    "basis_used": ("used by the contract", "合同采用"),
    "fig_cashflow": (
        "Special account balance at each month end",
        "专户各月末余额",
    ),
    "fig_cashflow_caption": (
        "{k} paths; dotted lines mark the year ends; the months after the last policy year are "
        "the run-off of its claims.",
        "{k} 条路径；虚线为年末；最后一个保单年度之后的月份为其赔款的延迟支付期。",
    ),
    "axis_month": ("Month end", "月末"),
    "info_cashflow_paths": ("Cash-flow paths", "现金流路径数"),
}

_clash = MESSAGES.keys() & WORDS.keys()
if _clash:  # pragma: no cover - a programming error caught on import
    raise KeyError(f"report messages defined twice: {sorted(_clash)}")
MESSAGES.update(WORDS)


@dataclass(frozen=True)
class Translator:
    """Labels in one language: ``t(key, **fields)``."""

    lang: str = "en"

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise FundsimError(
                f"language {self.lang!r} is not supported; choose one of: {', '.join(LANGS)}"
            )

    def __call__(self, key: str, **fields: object) -> str:
        try:
            text = MESSAGES[key][LANGS.index(self.lang)]
        except KeyError:
            raise KeyError(f"no report message {key!r}") from None
        return text.format(**fields) if fields else text

    @property
    def html_lang(self) -> str:
        return {"en": "en", "zh": "zh-CN"}[self.lang]
