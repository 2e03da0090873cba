"""The ledger template as a workbook (``GET /v1/imports/template?format=xlsx``), made so the
usual damage cannot happen: the 证件号码 column is text before anything is typed (Excel keeps
only 15 digits of a number), every column with a fixed set of values has a drop-down list, the
header is frozen, and a second sheet says in Chinese how to fill it in."""

import io

from services.registry.imports import template as t
from services.registry.imports.template import COLUMNS, ImportKind

# Rows prepared cell by cell (text format); the drop-downs and the columns' own text format
# reach further, for rows typed below them.
PREPARED_ROWS = 1000
VALIDATED_ROWS = 10000

_CHOICES: dict[str, list[str]] = {
    "category": list(t.CATEGORIES),
    "relocated": list(t.YES_NO),
    "relation": list(t.RELATIONS),
    "sex": list(t.SEXES),
    "schooling": [t.NOT_IN_SCHOOL, t.IN_SCHOOL_UNKNOWN_STAGE, *t.SCHOOLING],
    "health": list(t.HEALTH),
    "disability_grade": list(t.DISABILITY),
    "labour_capacity": list(t.LABOUR),
    "medical_insurance": list(t.YES_NO),
    "pension_insurance": list(t.YES_NO),
    "dibao": list(t.YES_NO),
    "tekun": list(t.YES_NO),
}
_TEXT_COLUMNS = {"id_number", "household_no", "region_code", "phone", "birth_date"}

_INSTRUCTIONS = [
    "填写说明",
    "1. 每行一名家庭成员；同一户的成员填写相同的户编号，户的信息（行政区划代码、家庭住址、户类型等）"
    "可只在户主所在行填写，或合并单元格。",
    "2. 证件号码列已设置为文本格式，请直接输入 18 位身份证号码；不要把该列改为数字格式，"
    "否则 Excel 只保留 15 位，后 3 位会变成 0。",
    "3. 带下拉箭头的列请从下拉列表中选择，不要自行输入其他写法。",
    "4. 必填列：{required}；其他列可留空，留空时按默认值处理（如性别、出生日期取自证件号码）。",
    "5. 行政区划代码为 12 位村级代码，且须在您的管辖范围内；村干部只能导入本村的台账。",
    "6. 合计行、填表人/审核人等页脚、空行会被自动跳过，不计为错误。",
    "7. 导入后可下载“被拒绝的行”（rejections.xlsx），按“错误原因”列修改后重新导入。",
]


def template_xlsx(kind: ImportKind) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    ws = book.active
    ws.title = "台账"
    columns = COLUMNS[kind]
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    last = VALIDATED_ROWS + 1
    for i, column in enumerate(columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = 22 if column.key == "id_number" else 14
        if column.key in _TEXT_COLUMNS:
            # Text before anything is typed: the format is what keeps all 18 digits.
            ws.column_dimensions[letter].number_format = "@"
            for row in range(2, PREPARED_ROWS + 2):
                ws.cell(row=row, column=i).number_format = "@"
        choices = _CHOICES.get(column.key) if kind is ImportKind.households else None
        if choices:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="请从列表中选择",
                error="可选值：" + "、".join(choices),
            )
            rule.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(rule)
    notes = book.create_sheet("填写说明")
    required = "、".join(c.header for c in columns if c.required)
    for line in _INSTRUCTIONS:
        notes.append([line.format(required=required)])
    notes.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
