"""`make demo`: render every form from the bundled samples and say where the output went."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import formkit
from formkit.core.errors import ConversionError

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "demo"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    print("formkit 演示：用 samples/ 中的示例数据生成全部文书")
    made: list[Path] = []
    for form in formkit.forms():
        data = json.loads((ROOT / "samples" / f"{form.name}.json").read_text(encoding="utf-8"))
        target = OUT / f"{form.name}.docx"
        formkit.render_to(target, form.name, data, overwrite=True)  # the demo folder is remade each run
        made.append(target)
        print(f"  {form.title}：{target.relative_to(ROOT)}")
    try:
        from formkit.documents.pdf import convert_to_pdf

        pdfs = convert_to_pdf(made, OUT)
        print(f"  PDF：已转换 {len(pdfs)} 份，在 {OUT.relative_to(ROOT)}/ 下（*.pdf）")
    except ConversionError as exc:
        print(f"  未生成 PDF：{exc}")
    print(f"\n输出目录：{OUT}\n用 Word/WPS 打开 .docx 可修改后打印；PDF 可直接打印。")
    batch_sample_roster()
    check_sample_ledger()
    print(f"\n全部输出在 {OUT}/ 下：单份文书和 PDF、batch-return-notice/（每人一份 + merged.pdf + manifest）、"
          "ledger-filled.checked.xlsx（标注副本）、due/（待办文书）、summary.xlsx 和 monthly-report.docx。"
          "在 Linux 桌面上可用 xdg-open 打开，或复制到 Windows 用 Word/WPS/Excel 打开。")
    return 0


def batch_sample_roster() -> None:
    from formkit import batch, format_batch, load_settings

    print("\n批量生成：samples/roster.xlsx 中每名学生一份返校通知书（DOCX + PDF + 合并打印文件）")
    target = OUT / "batch-return-notice"
    try:
        result = batch("return-notice", ROOT / "samples" / "roster.xlsx", target,
                       issuer=load_settings(ROOT / "samples" / "formkit.toml"), pdf=True, merge=True,
                       register=OUT / "register.sqlite")
    except ConversionError as exc:
        result = batch("return-notice", ROOT / "samples" / "roster.xlsx", target,
                       issuer=load_settings(ROOT / "samples" / "formkit.toml"), merge=True,
                       register=OUT / "register.sqlite")
        print(f"  未生成 PDF：{exc}")
    print(format_batch(result))


def check_sample_ledger() -> None:
    from datetime import date

    from formkit import annotate, check_ledger, format_report

    print("\n检查示例台账 samples/ledger-filled.xlsx（按 2024-05-01 判断）：")
    report = check_ledger(ROOT / "samples" / "ledger-filled.xlsx", date(2024, 5, 1))
    print(format_report(report))
    for path in annotate(report, OUT):
        print(f"标注副本（错误标红、提醒标黄、批注写明改法）：{path.relative_to(ROOT)}")
    due_and_summary()


def due_and_summary() -> None:
    from datetime import date

    from formkit import due, generate_due, load_settings, summary
    from formkit.cli import format_due

    when = date(2024, 5, 1)
    # ledger-filled lists 龙飞 twice in contradicting states, so due refuses him: the demo's paperwork
    # comes from the two clean ledgers the summary also uses.
    items = due([ROOT / "samples" / "ledger-clean.xlsx", ROOT / "samples" / "ledger-b.xlsx"], when)
    print("\n待办文书（ledger-clean.xlsx 和 ledger-b.xlsx，按 2024-05-01）：")
    print(format_due(items, when))
    generated = generate_due(items, OUT / "due", issuer=load_settings(ROOT / "samples" / "formkit.toml"), as_of=when,
                             register=OUT / "register.sqlite")
    for form, result in generated.results.items():
        made = [i.file for i in result.items if i.status in ("written", "unchanged", "updated")]
        print(f"  已生成 {form}：{len(made)} 份，在 {(OUT / 'due' / form).relative_to(ROOT)}/")
    target = OUT / "summary.xlsx"
    summary([ROOT / "samples" / "ledger-clean.xlsx", ROOT / "samples" / "ledger-b.xlsx"], target, "2024-04",
            report=OUT / "monthly-report.docx", report_area="青山县", overwrite=True)
    print(f"\n汇总表（含图表）：{target.relative_to(ROOT)}；月报：{(OUT / 'monthly-report.docx').relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
