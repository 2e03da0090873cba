"""The ledger file layouts (台账模板) the import reads and the export writes.

The header row may come below a title row ("XX村脱贫户信息台账") and a 填报单位 or date row:
it is the first of the sheet's first 10 rows (or pair of rows: a two-level header, a group
label such as 家庭成员信息 merged over the columns of the row below) that names every required
column of the layout, and rows keep their numbers in the sheet. In a workbook, the sheet whose
headers match is read. Without ``kind``, the headers say which layout the file is. Columns are
found under the names offices use too (证件号码 / 身份证号 / 身份证号码 / 公民身份号码; 户编号 /
户号; 与户主关系 / 户主关系; 联系电话 / 联系方式 / 手机号码; 出生日期 / 出生年月日 ...), after
removing spaces, line breaks, asterisks and bracketed notes; an optional column may be left
out. Rows that are not data (合计/小计/总计, 填表人/审核人/说明 footers, a header printed again,
blank and title rows) are skipped and counted. A household's cells merged down over its
members (or left empty below the head's row) belong to each member. Type ID numbers into
cells formatted as text (the XLSX template's 证件号码 column is): a cell Excel holds as a
number (shown as 5.22301E+17) has lost the last digits and is refused.

Households file (``kind=households``): one row per member, the household's columns repeated
on each of its rows. Economics file (``kind=economics``): one row per household and year.
A header may carry the allowed values in brackets (``户类型(脱贫户/监测户/一般农户)``); only
the name before the bracket is matched. Blank optional cells take the default named below.

Households columns:

- 户编号 (required, at most 40 characters): the household number, unique in the registry; rows
  with the same number are one household.
- 行政区划代码 (required): the 12-digit code of the household's village, inside the importer's
  region.
- 家庭住址 (optional, at most 300 characters): the address.
- 户类型 (required): 脱贫户 | 监测户 | 一般农户.
- 致贫原因 (optional): causes separated by 、 , or ; (因病, 因学, 缺劳力 ...).
- 易地扶贫搬迁 (optional, default 否): 是 | 否.
- 联系电话 (optional, at most 20 characters).
- 姓名 (required, at most 50 characters).
- 证件号码 (required): the 18-character resident ID number, GB 11643 check character; unique in
  the registry and in the file.
- 与户主关系 (required): 户主 | 配偶 | 子女 | 父母 | 孙子女 | 兄弟姐妹 | 儿媳女婿 | 其他;
  exactly one 户主 per household.
- 性别 (optional, default from the ID number): 男 | 女, must agree with the ID number.
- 出生日期 (optional, default from the ID number): 1990-01-01, 1990.01.01, 1990/1/1,
  1990年1月1日, 19900101, a date cell or an Excel date serial; must agree with the ID number.
- 民族 (optional, default 汉族).
- 文化程度 (optional, at most 30 characters): 文盲或半文盲, 小学, 初中, 高中, 大专及以上 ...
- 在校生状况 (optional, default 非在校生): 非在校生 | 学前教育 | 小学 | 初中 | 高中 | 中职 |
  大学 | 辍学, or 在校 when the stage is unknown. Ledger grades are understood too: 一年级 to
  六年级 and 小学* are 小学, 七年级 to 九年级 初中, 普通高中* 高中, 中专/职高/技工 中职,
  高职/大专/本科/研究生 大学.
- 健康状况 (optional, default 健康): 健康 | 长期慢性病 | 患有大病.
- 残疾等级 (optional, default 无): 无 | 一级 | 二级 | 三级 | 四级 (or 0-4).
- 劳动技能 (optional, default 普通劳动力): 技能劳动力 | 普通劳动力 | 弱劳动力或半劳动力 | 无劳动力.
- 务工时间(月) (optional, default 0): whole months of migrant work in the year, 0-12.
- 城乡居民基本医疗保险 (optional, default 是): 是 | 否.
- 城乡居民基本养老保险 (optional, default 否): 是 | 否.
- 低保 (optional, default 否): 是 | 否.
- 特困供养 (optional, default 否): 是 | 否.

Economics columns (amounts in yuan with at most two decimals, not negative; blank = 0):

- 户编号 (required): a registered household inside the importer's region.
- 年度 (required): the year, not in the future.
- 工资性收入, 生产经营性净收入, 财产性收入, 转移性收入: income.
- 医疗自付支出, 教育支出, 灾害损失, 其他刚性支出: rigid expenses.

Net income is the sum of the four incomes; the per-capita net income is (net income - rigid
expenses) / resident members, rounded half-up to the fen.
"""

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ImportKind(StrEnum):
    """What a ledger file holds: `households` (households with their members, 户籍/成员台账) or
    `economics` (a year's income and rigid expenses, 收支台账). Inferred from the headers when
    not sent."""

    households = "households"
    economics = "economics"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False


HOUSEHOLD_COLUMNS = [
    Column("户编号", "household_no", True),
    Column("行政区划代码", "region_code", True),
    Column("家庭住址", "address"),
    Column("户类型", "category", True),
    Column("致贫原因", "poverty_causes"),
    Column("易地扶贫搬迁", "relocated"),
    Column("联系电话", "phone"),
    Column("姓名", "name", True),
    Column("证件号码", "id_number", True),
    Column("与户主关系", "relation", True),
    Column("性别", "sex"),
    Column("出生日期", "birth_date"),
    Column("民族", "ethnicity"),
    Column("文化程度", "education"),
    Column("在校生状况", "schooling"),
    Column("健康状况", "health"),
    Column("残疾等级", "disability_grade"),
    Column("劳动技能", "labour_capacity"),
    Column("务工时间(月)", "migrant_work_months"),
    Column("城乡居民基本医疗保险", "medical_insurance"),
    Column("城乡居民基本养老保险", "pension_insurance"),
    Column("低保", "dibao"),
    Column("特困供养", "tekun"),
]

ECONOMICS_COLUMNS = [
    Column("户编号", "household_no", True),
    Column("年度", "year", True),
    Column("工资性收入", "wage"),
    Column("生产经营性净收入", "operating"),
    Column("财产性收入", "property"),
    Column("转移性收入", "transfer"),
    Column("医疗自付支出", "medical_out_of_pocket"),
    Column("教育支出", "education"),
    Column("灾害损失", "disaster_loss"),
    Column("其他刚性支出", "other_rigid"),
]

COLUMNS = {ImportKind.households: HOUSEHOLD_COLUMNS, ImportKind.economics: ECONOMICS_COLUMNS}

# Ledger wording <-> the registry's values.
CATEGORIES = {"脱贫户": "poverty_alleviated", "监测户": "monitored", "一般农户": "ordinary"}
RELATIONS = {
    "户主": "head",
    "配偶": "spouse",
    "子女": "child",
    "父母": "parent",
    "孙子女": "grandchild",
    "兄弟姐妹": "sibling",
    "儿媳女婿": "in_law",
    "其他": "other",
}
SEXES = {"男": "male", "女": "female"}
HEALTH = {"健康": "healthy", "长期慢性病": "chronic", "患有大病": "serious"}
LABOUR = {
    "技能劳动力": "skilled",
    "普通劳动力": "ordinary",
    "弱劳动力或半劳动力": "weak",
    "无劳动力": "none",
}
DISABILITY = {"无": 0, "一级": 1, "二级": 2, "三级": 3, "四级": 4}
YES_NO = {"是": True, "否": False}
NOT_IN_SCHOOL = "非在校生"
IN_SCHOOL_UNKNOWN_STAGE = "在校"
DROPOUT = "辍学"
# 在校生状况 -> the registry's schooling stage (domain.md: preschool, primary, junior, senior,
# vocational, college; dropout).
SCHOOLING = {
    "学前教育": "preschool",
    "小学": "primary",
    "初中": "junior",
    "高中": "senior",
    "中职": "vocational",
    "大学": "college",
    DROPOUT: "dropout",
}
_SCHOOLING_WORDS = [  # most specific first: 普通高中二年级 is 高中, not 二年级
    (("高职", "大专", "专科", "本科", "大学", "研究生", "硕士", "博士"), "college"),
    (("中职", "中专", "职高", "技工", "职业"), "vocational"),
    (("高中", "高一", "高二", "高三"), "senior"),
    (("初中", "七年级", "八年级", "九年级", "初一", "初二", "初三"), "junior"),
    (("学前", "幼儿园"), "preschool"),
    (("小学", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级"), "primary"),
]


def schooling_stage(raw: str) -> str | None:
    """The stage a ledger's 在校生状况 names, or None when it names none we know."""
    if raw in SCHOOLING:
        return SCHOOLING[raw]
    for words, stage in _SCHOOLING_WORDS:
        if any(w in raw for w in words):
            return stage
    return None


def _labels(mapping: Mapping[str, object]) -> dict[object, str]:
    return {v: k for k, v in mapping.items()}


CATEGORY_LABELS = _labels(CATEGORIES)
RELATION_LABELS = _labels(RELATIONS)
SEX_LABELS = _labels(SEXES)
HEALTH_LABELS = _labels(HEALTH)
LABOUR_LABELS = _labels(LABOUR)
DISABILITY_LABELS = _labels(DISABILITY)
YES_NO_LABELS = _labels(YES_NO)
SCHOOLING_LABELS = _labels(SCHOOLING)

_BRACKET = re.compile(r"[(（].*$")


def header_key(header: object) -> str:
    """``户类型(脱贫户/监测户/一般农户)`` and ``务工时间（月）`` match ``户类型`` and ``务工时间``."""
    return _BRACKET.sub("", str(header or "")).strip().lstrip("\ufeff")


def headers(kind: ImportKind) -> list[str]:
    return [c.header for c in COLUMNS[kind]]


def template_csv(kind: ImportKind) -> bytes:
    """The empty template: UTF-8 with a BOM so spreadsheet programs show the Chinese."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(headers(kind))
    return ("\ufeff" + out.getvalue()).encode()


def describe() -> str:
    """The column documentation, for the OpenAPI description."""
    return __doc__ or ""
