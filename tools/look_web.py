"""`make look` (web part): drive every page of the clerk's desk in Chromium and save screenshots.

Screenshots go to out/look/web/; look at each as a clerk would (Chinese text, layout, errors
beside fields, the progress bar, the charts).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from formkit.web.app import Desk, free_port, start_in_thread

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "look" / "web"
SAMPLES = ROOT / "samples"


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium is not installed (apt-get install chromium): no web screenshots.", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="formkit-look-"))
    port = free_port("127.0.0.1", 18865)
    stop = start_in_thread(Desk(register=work / "register.sqlite", work_dir=work / "sessions"), port)
    site = f"http://127.0.0.1:{port}"
    shots: list[Path] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--lang=zh-CN"])
            page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()

            def shot(name: str) -> None:
                path = OUT / f"{len(shots) + 1:02d}-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

            page.goto(site + "/")
            shot("home")
            page.goto(site + "/generate")
            shot("generate")
            bad_roster = work / "名单-有错.csv"
            bad_roster.write_text("姓名,身份证号,学校,监护人姓名,辍学时间\n张三,520121201305120110,石门镇中心小学,张大山,2024-03-01\n"
                                  "李四,,石门镇中心小学,,2024-02-30\n", encoding="utf-8")
            page.set_input_files("input[name=roster]", bad_roster)
            page.fill("input[name=issuer_body]", "石门镇人民政府")
            page.fill("input[name=issuer_issue_date]", "2024-04-08")
            page.get_by_role("button", name="检查名单并生成").click()
            shot("generate-invalid-rows")
            page.goto(site + "/generate")
            page.set_input_files("input[name=roster]", SAMPLES / "roster.xlsx")
            page.set_input_files("input[name=config]", SAMPLES / "formkit.toml")
            if shutil.which("soffice"):
                page.check("input[name=pdf]")
            page.get_by_role("button", name="检查名单并生成").click()
            page.wait_for_timeout(1500)  # let the bar move before the picture
            shot("job-progress")
            page.get_by_role("link", name="下载全部结果").wait_for(timeout=180_000)
            shot("job-done")
            page.goto(site + "/generate/one?form=return-notice")
            shot("one-record")
            page.fill("input[name='student.name']", "王小明")
            page.fill("input[name='student.id_number']", "520121201305120110")
            page.get_by_role("button", name="检查并生成").click()
            shot("one-record-errors")
            page.goto(site + "/ledgers")
            page.set_input_files("input[name=files]", [SAMPLES / "ledger-filled.xlsx", SAMPLES / "ledger-b.xlsx",
                                                       ROOT / "tests" / "data" / "bad" / "zip-bomb.xlsx"])
            page.get_by_role("button", name="上传并检查").click()
            shot("ledgers")
            page.goto(site + "/due")
            shot("due")
            page.goto(site + "/summary?month=2024-04")
            shot("summary")
            page.goto(site + "/templates")
            page.set_input_files("input[name=template]", ROOT / "templates" / "docx" / "compel-notice.docx")
            page.get_by_role("button", name="上传并检查").click()
            shot("templates")
            browser.close()
    finally:
        stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(shots)} screenshots in {OUT}: look at every one as a clerk would.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
