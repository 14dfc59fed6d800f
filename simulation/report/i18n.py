"""Every label and heading of a report, in English (the default) and Chinese.

A :class:`Translator` looks a message up by key; ``Translator("zh")("p_deficit")`` gives
"赤字概率". A message may hold ``{placeholders}`` filled from keyword arguments. A key missing in a
language is an error (a test checks that both languages have every key), never a silent English.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FundsimError

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
        "larger gap comes from what the exact method leaves out (see its notes: e.g. roster "
        "entries and exits), and its size is in the relative difference. Money in {unit}.",
        "对第一个保单年度，各基金赔付同时用精确方法（快速傅里叶变换）计算，无需随机模拟。"
        "z =（蒙特卡洛 - 精确值）/ 标准误；|z| 小于 4 视为一致。更大的差异来自精确方法的简化"
        "（见其说明，如忽略名册的进入与退出），其大小见相对差异一列。金额单位：{unit}。",
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
}


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
