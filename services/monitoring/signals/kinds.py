"""The signal kinds each department may report (部门预警信息类型), with their Chinese names.

A kind is known only with its source: a medical-insurance bureau reports medical costs, not
cars. The alert rules (``services.monitoring.alerts.rules``) read some of these kinds; the
others are kept as information on the household (a 低保 grant, a disability certificate)."""

from enum import StrEnum

from shared.i18n import Message, t


class SignalSource(StrEnum):
    """The department that sent a signal (行业部门): `medical_insurance` 医保, `civil_affairs` 民政,
    `education` 教育, `housing` 住建, `emergency` 应急管理, `human_resources` 人社, `public_security`
    公安, `disability` 残联."""

    medical_insurance = "medical_insurance"  # 医保
    civil_affairs = "civil_affairs"  # 民政
    education = "education"  # 教育
    housing = "housing"  # 住建
    emergency = "emergency"  # 应急管理
    human_resources = "human_resources"  # 人社
    public_security = "public_security"  # 公安
    disability = "disability"  # 残联


SOURCE_NAMES: dict[SignalSource, str] = {
    SignalSource.medical_insurance: "医保",
    SignalSource.civil_affairs: "民政",
    SignalSource.education: "教育",
    SignalSource.housing: "住建",
    SignalSource.emergency: "应急管理",
    SignalSource.human_resources: "人社",
    SignalSource.public_security: "公安",
    SignalSource.disability: "残联",
}

# source -> {kind: Chinese name}. Medical-insurance signals with an amount add up for the
# ``medical_expense`` rule whatever their kind.
KINDS: dict[SignalSource, dict[str, str]] = {
    SignalSource.medical_insurance: {
        "out_of_pocket_medical": "个人自付医疗费用",
        "serious_illness": "患大病",
        "chronic_illness": "患慢性病",
        "hospitalization": "住院",
    },
    SignalSource.civil_affairs: {
        "death_of_worker": "劳动力死亡",
        "death": "死亡",
        "dibao_granted": "纳入低保",
        "dibao_ended": "退出低保",
        "tekun_granted": "纳入特困供养",
        "temporary_assistance": "临时救助",
    },
    SignalSource.education: {
        "dropout": "失学辍学",
        "student_aid": "学生资助",
    },
    SignalSource.housing: {
        "dangerous_housing": "住房安全鉴定为危房",
        "commercial_housing": "购买商品房",
        "housing_renovated": "危房改造完成",
    },
    SignalSource.emergency: {
        "disaster_loss": "受灾损失",
        "accident": "意外事故",
    },
    SignalSource.human_resources: {
        "job_loss": "失业或务工中断",
        "public_payroll": "财政供养人员",
        "employment_registered": "就业登记",
    },
    SignalSource.public_security: {
        "car": "拥有车辆",
        "business_registered": "注册企业或个体工商户",
    },
    SignalSource.disability: {
        "disability_certified": "残疾认定",
        "disability_grade_changed": "残疾等级变更",
    },
}

ALL_KINDS: tuple[str, ...] = tuple(dict.fromkeys(k for kinds in KINDS.values() for k in kinds))


def unknown_kind(source: str, kind: str) -> Message | None:
    """Why ``kind`` is not a kind ``source`` reports, or None when it is."""
    try:
        known = KINDS[SignalSource(source)]
    except ValueError:
        known = {}
    if kind in known:
        return None
    return t(
        "{kind} is not a signal kind of {source}; expected one of: {kinds}",
        "signal.unknown_kind",
        kind=kind,
        source=source,
        kinds=", ".join(known),
    )


def describe() -> str:
    """The kinds of every source, for the OpenAPI document."""
    lines = ["What happened; the kinds of each `source` (部门预警信息类型):"]
    for source, kinds in KINDS.items():
        listed = ", ".join(f"`{kind}` {name}" for kind, name in kinds.items())
        lines.append(f"- `{source}` ({SOURCE_NAMES[source]}): {listed}")
    lines.append(
        "A kind that is not of its source rejects that item (`signal.unknown_kind`); "
        "the rest of the batch is received."
    )
    return "\n".join(lines)
