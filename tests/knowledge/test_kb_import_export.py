"""`frontdesk kb export` and `frontdesk kb import` as an operator runs them: the store's guides
as a knowledge folder that check-kb accepts, a folder imported as drafts or published, unchanged
guides left alone, and a guide that does not fit what is published refused with its field —
nothing imported at all then."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import PROJECT_ROOT
from bot.store import open_store

KNOWLEDGE = PROJECT_ROOT / "knowledge"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A county's config: the bundled knowledge folder beside a store of its own."""
    path = tmp_path / "frontdesk.toml"
    path.write_text(f'[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                    f'[store]\nurl = "sqlite:///{tmp_path / "fd.db"}"\n[knowledge]\ndir = "{KNOWLEDGE}"\n',
                    encoding="utf-8")
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _store(config: Path, work):
    async def run():
        store = await open_store(f"sqlite:///{config.parent / 'fd.db'}", config.parent)
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_an_export_is_a_folder_check_kb_accepts_and_imports_as_unchanged(config, tmp_path, capsys):
    code, out, _ = _run(capsys, "kb", "import", "--config", str(config), str(KNOWLEDGE))
    assert code == 0 and "drafts to review (0)" in out and "unchanged (62)" in out   # the store was seeded
    code, out, _ = _run(capsys, "kb", "export", "--config", str(config), str(tmp_path / "a"))
    assert code == 0 and "62 guides and life events written" in out
    assert _run(capsys, "check-kb", str(tmp_path / "a"))[0] == 0
    assert _run(capsys, "kb", "export", "--config", str(config), str(tmp_path / "b"))[0] == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    code, out, _ = _run(capsys, "kb", "import", "--config", str(config), str(tmp_path / "a"), "--publish")
    assert code == 0 and "published (0)" in out and "unchanged (62)" in out


def test_an_edited_folder_becomes_a_draft_and_with_publish_the_next_version(config, tmp_path, capsys):
    edited = tmp_path / "edited"
    shutil.copytree(KNOWLEDGE, edited)
    guide = edited / "guides" / "老年人优待证办理.toml"
    guide.write_text(guide.read_text(encoding="utf-8").replace('fee = "不收费"', 'fee = "工本费5元"'), encoding="utf-8")
    code, out, _ = _run(capsys, "kb", "import", "--config", str(config), str(edited))
    assert code == 0 and "drafts to review (1): 老年人优待证办理" in out
    record = _store(config, lambda store: store.guides.get("老年人优待证办理"))
    assert record.content["fee"] == "不收费" and record.draft["fee"] == "工本费5元" and record.version == 1
    code, out, _ = _run(capsys, "kb", "import", "--config", str(config), str(edited), "--publish")
    assert code == 0 and "published (1): 老年人优待证办理" in out
    versions = _store(config, lambda store: store.guides.versions("老年人优待证办理"))
    assert [(v.version, v.action, v.content["fee"]) for v in versions] == [(2, "import", "工本费5元"),
                                                                          (1, "seed", "不收费")]


def test_a_guide_that_clashes_with_what_is_published_is_refused_and_nothing_is_imported(config, tmp_path, capsys):
    """A folder of two guides, sound on its own: one claims an alias the store's 婚姻登记 has."""
    folder = tmp_path / "two"
    (folder / "guides").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "intents.toml", folder / "intents.toml")
    shutil.copy(KNOWLEDGE / "guides" / "居住证申领.toml", folder / "guides")
    guide = folder / "guides" / "老年人优待证办理.toml"
    text = (KNOWLEDGE / "guides" / guide.name).read_text(encoding="utf-8")
    guide.write_text(text.replace('"老龄证"]', '"老龄证", "扯证"]').replace('fee = "不收费"', 'fee = "工本费5元"'),
                     encoding="utf-8")
    assert _run(capsys, "check-kb", str(folder))[0] == 0
    code, out, err = _run(capsys, "kb", "import", "--config", str(config), str(folder), "--publish")
    assert code == 1 and "refused 老年人优待证办理:\n  aliases: alias '扯证' is also claimed by 婚姻登记" in err
    assert "nothing imported" in err and "居住证申领" not in err
    versions = _store(config, lambda store: store.guides.versions("老年人优待证办理"))
    assert [v.action for v in versions] == ["seed"]


def test_the_clash_is_blamed_on_the_imported_guide_whatever_the_order_of_names(config, tmp_path, capsys):
    """婚姻登记 sorts before 老年人优待证办理: imported with that guide's alias, it is still the one refused."""
    folder = tmp_path / "one"
    (folder / "guides").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "intents.toml", folder / "intents.toml")
    guide = folder / "guides" / "婚姻登记.toml"
    text = (KNOWLEDGE / "guides" / guide.name).read_text(encoding="utf-8")
    guide.write_text(re.sub(r'aliases = \[', 'aliases = ["老龄证", ', text, count=1), encoding="utf-8")
    code, out, err = _run(capsys, "kb", "import", "--config", str(config), str(folder))
    assert code == 1 and "refused 婚姻登记:\n  aliases: alias '老龄证' is also claimed by 老年人优待证办理" in err
    assert "refused 老年人优待证办理" not in err


def test_a_broken_folder_is_refused_with_its_file_and_line(config, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(KNOWLEDGE, broken)
    guide = broken / "guides" / "老年人优待证办理.toml"
    guide.write_text(guide.read_text(encoding="utf-8").replace("visits = 1", 'visits = "一次"'), encoding="utf-8")
    code, _, err = _run(capsys, "kb", "import", "--config", str(config), str(broken), "--publish")
    assert code == 1 and f"{guide}:" in err and "`visits` must be an integer" in err and "not imported" in err


def test_the_example_item_list_becomes_drafts_beside_the_published_guides(config, capsys):
    code, out, err = _run(capsys, "kb", "import", "--config", str(config),
                          str(KNOWLEDGE / "imports" / "省事项清单示例.xlsx"))
    assert code == 0 and "drafts to review (4):" in out and "老年人优待证办理" in out
    assert "columns not imported: 权力来源" in err
    record = _store(config, lambda store: store.guides.get("老年人优待证办理"))
    assert record.version == 1 and record.draft is not None and record.draft != record.content
    assert any(point.startswith("导入自省事项清单") for point in record.draft["local_check"])
    # a guide the county publishes keeps its own words: aliases, FAQ, examples
    for key in ("aliases", "faq", "examples"):
        assert record.draft[key] == record.content[key]
