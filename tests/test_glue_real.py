"""The real GLUE loader: both sources, every task's quirks, the data contract, errors.

The fixtures write tiny GLUE directories in the exact formats: the original TSV layout of
download_glue_data.py (CoLA without header, MRPC with a byte order mark, a broken QQP row,
MNLI's two dev files with string gold labels, ...) and a folder laid out as the hub stores
nyu-mll/glue (parquet shards per config, one sharded train split, test splits with label -1,
the card's configs), with the same content; the hub source reads the cache stage's copy of it.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hub_helpers import cache_copy, write_card

from taskconflict import registry
from taskconflict.data.glue_real import LAYOUTS, load_glue_task
from taskconflict.data.prepare import check_splits

GLUE = registry.BENCHMARKS["glue"]
TRAIN_ROWS, DEV_ROWS = 20, 5
SEED, FRACTION = 7, 0.2
N_VALIDATION = round(TRAIN_ROWS * FRACTION)
SHARDED = ("qqp", "mnli")
"""Tasks whose hub train split the fixture writes as two shards."""
FOLDERS = {"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "qqp": "QQP",
           "mnli": "MNLI", "qnli": "QNLI", "rte": "RTE"}

Row = tuple[tuple[str, ...], float]


def dev_splits(task: str) -> dict[str, str]:
    """Our test split -> the hub's name of the official dev split it comes from."""
    if task == "mnli":
        return {"test": "validation_matched", "test_mismatched": "validation_mismatched"}
    return {"test": "validation"}


def make_rows(task: str, split: str, count: int) -> list[Row]:
    """Distinct texts with known labels; row 0 has an unbalanced quote, row 1 padding."""
    spec = registry.get_task(task)
    rows = []
    for i in range(count):
        texts = [f"{task} {split} {field} number {i} ." for field in spec.fields]
        if i == 0:
            texts[0] = 'he said "hi ' + texts[0]  # breaks a reader that honours quotes
        if i == 1:
            texts = [f"  {text} " for text in texts]
        if spec.kind == registry.REGRESSION:
            label: float = round(i * 0.37 % 5.0, 3)
        else:
            label = i % len(spec.label_words)
        rows.append((tuple(texts), label))
    return rows


def content(task: str) -> dict[str, list[Row]]:
    """The official splits of one task, by the hub's split names."""
    out = {"train": make_rows(task, "train", TRAIN_ROWS)}
    for name in dev_splits(task).values():
        out[name] = make_rows(task, name, DEV_ROWS)
    return out


def tsv_lines(task: str, split: str, rows: list[Row]) -> list[str]:
    """One GLUE TSV file's lines, as the original files lay them out."""
    words = registry.get_task(task).label_words
    if task == "cola":  # no header; source, label, author's mark, sentence
        return [f"gj04\t{y}\t{'' if y else '*'}\t{s}" for (s,), y in rows]
    if task == "sst2":
        return ["sentence\tlabel", *(f"{s}\t{y}" for (s,), y in rows)]
    if task == "mrpc":
        return ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
                *(f"{y}\t{100 + i}\t{200 + i}\t{a}\t{b}" for i, ((a, b), y) in enumerate(rows))]
    if task == "stsb":
        head = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
        return [f"{head}\tscore", *(
            f"{i}\tmain-news\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{a}\t{b}\t{y:.3f}"
            for i, ((a, b), y) in enumerate(rows))]
    if task == "qqp":
        lines = ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", *(
            f"{i}\t{2 * i}\t{2 * i + 1}\t{a}\t{b}\t{y}" for i, ((a, b), y) in enumerate(rows))]
        if split == "train":  # a question with a line break, and a non-integer label
            lines[4:4] = ["900\t1800\t1801\twhy is the sky", "blue ?\thow is the sky blue ?\t1",
                          "901\t1802\t1803\tis it ?\tis it ?\tmaybe"]
        return lines
    if task == "mnli":  # train: 12 columns; dev: 16 (five annotator labels, then gold)
        annotators = 1 if split == "train" else 5
        head = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
                "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
                "sentence2", *(f"label{k + 1}" for k in range(annotators)), "gold_label"]
        lines = ["\t".join(head)]
        for i, ((a, b), y) in enumerate(rows):
            other = words[(y + 1) % 3]  # annotators disagree with the gold label
            lines.append("\t".join([str(i), f"{i}1", f"{i}1e", "fiction", "( a )", "( b )",
                                    "(ROOT a)", "(ROOT b)", a, b, *[other] * annotators,
                                    words[y]]))
        return lines
    header = {"qnli": "index\tquestion\tsentence\tlabel",
              "rte": "index\tsentence1\tsentence2\tlabel"}[task]
    return [header, *(f"{i}\t{a}\t{b}\t{words[y]}" for i, ((a, b), y) in enumerate(rows))]


def write_tsv(root: Path) -> Path:
    """A GLUE directory in download_glue_data.py's layout, for all eight tasks."""
    for task in GLUE:
        folder = root / FOLDERS[task]
        folder.mkdir(parents=True)
        for split, rows in content(task).items():
            name = "train" if split == "train" else split.replace("validation", "dev")
            encoding = "utf-8-sig" if task == "mrpc" else "utf-8"  # MRPC: with a BOM
            text = "\n".join(tsv_lines(task, split, rows)) + "\n"
            (folder / f"{name}.tsv").write_text(text, encoding=encoding)
    return root


def hub_frame(task: str, rows: list[Row]) -> pd.DataFrame:
    spec = registry.get_task(task)
    frame = pd.DataFrame([texts for texts, _ in rows], columns=list(spec.fields))
    labels = [label for _, label in rows]
    dtype = "float32" if spec.kind == registry.REGRESSION else "int64"  # as on the hub
    frame["label"] = np.asarray(labels, dtype=dtype)
    frame["idx"] = np.arange(len(rows), dtype="int32")
    return frame


def hub_splits(task: str) -> list[str]:
    """The hub's splits of one config: the official ones and the hidden test splits."""
    tests = ["test_matched", "test_mismatched"] if task == "mnli" else ["test"]
    return [*content(task), *tests]


def write_hub(root: Path) -> Path:
    """A folder laid out as the hub stores nyu-mll/glue, for all eight tasks."""
    for task in GLUE:
        folder = root / task
        folder.mkdir(parents=True)
        for split, rows in content(task).items():
            frame = hub_frame(task, rows)
            if split == "train" and task in SHARDED:
                frame.iloc[:7].to_parquet(folder / "train-00000-of-00002.parquet", index=False)
                frame.iloc[7:].to_parquet(folder / "train-00001-of-00002.parquet", index=False)
            else:
                frame.to_parquet(folder / f"{split}-00000-of-00001.parquet", index=False)
        for split in hub_splits(task)[len(content(task)):]:  # hidden labels: -1, never used
            frame = hub_frame(task, make_rows(task, split, 3))
            frame["label"] = np.full(3, -1, dtype=frame["label"].dtype)
            frame.to_parquet(folder / f"{split}-00000-of-00001.parquet", index=False)
    write_card(root, {t: {s: f"{t}/{s}-*" for s in hub_splits(t)} for t in GLUE})
    return root


def cache_hub(snapshot: Path, out: Path, tasks=GLUE) -> dict[str, Path]:
    """The cache stage's folder of each task, holding its copy of the hub dataset."""
    return {task: cache_copy(snapshot, task, out / task) for task in tasks}


@pytest.fixture(scope="module")
def tsv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tsv(tmp_path_factory.mktemp("glue_tsv"))


@pytest.fixture(scope="module")
def hub_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hub(tmp_path_factory.mktemp("glue_hub"))


@pytest.fixture(scope="module")
def hub_dirs(tmp_path_factory: pytest.TempPathFactory, hub_snapshot: Path) -> dict[str, Path]:
    return cache_hub(hub_snapshot, tmp_path_factory.mktemp("glue_cache"))


@pytest.fixture(scope="module")
def loaded(tsv_dir: Path, hub_dirs: dict[str, Path]
           ) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    with contextlib.redirect_stderr(io.StringIO()):  # QQP's skipped rows; tested below
        return {(task, layout): load_glue_task(task, layout, hub_dirs[task] if layout == "hub"
                                               else tsv_dir, SEED, FRACTION)
                for task in GLUE for layout in LAYOUTS}


def notes(capsys: pytest.CaptureFixture) -> list[str]:
    """The lines the loaders wrote to stderr: each note one line, no warning machinery."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert all(line.startswith("warning: glue ") for line in lines), err
    return lines


def as_rows(task: str, frame: pd.DataFrame) -> list[Row]:
    fields = list(registry.get_task(task).fields)
    return [(tuple(texts), label) for *texts, label in
            frame[[*fields, "label"]].itertuples(index=False, name=None)]


def stripped(rows: list[Row]) -> list[Row]:
    return [(tuple(text.strip() for text in texts), label) for texts, label in rows]


def test_fixture_has_the_quirks(tsv_dir: Path, hub_snapshot: Path, hub_dirs: dict[str, Path]):
    assert (tsv_dir / "MRPC" / "train.tsv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (tsv_dir / "CoLA" / "train.tsv").read_text().startswith("gj04\t0\t*\the said")
    assert "maybe" in (tsv_dir / "QQP" / "train.tsv").read_text()
    assert (tsv_dir / "MNLI" / "dev_mismatched.tsv").is_file()
    assert len(list((hub_snapshot / "qqp").glob("train-*.parquet"))) == 2
    test = pd.read_parquet(hub_snapshot / "rte" / "test-00000-of-00001.parquet")
    assert set(test["label"]) == {-1}
    import datasets

    copy = datasets.load_from_disk(str(hub_dirs["mnli"] / "dataset"))
    assert sorted(copy) == sorted(hub_splits("mnli"))  # the card's splits, as on the hub
    assert len(copy["train"]) == TRAIN_ROWS  # both shards


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("task", GLUE)
def test_splits_rows_labels_and_dtypes(loaded, task: str, layout: str):
    spec = registry.get_task(task)
    splits = loaded[task, layout]
    assert list(splits) == list(spec.splits)
    check_splits(spec, splits)
    official = content(task)
    train, validation = splits["train"], splits["validation"]
    assert (len(train), len(validation)) == (TRAIN_ROWS - N_VALIDATION, N_VALIDATION)
    # train and validation partition the official train rows, each in file order
    expected = stripped(official["train"])
    got = as_rows(task, train) + as_rows(task, validation)
    assert sorted(got, key=expected.index) == expected
    for rows in (as_rows(task, train), as_rows(task, validation)):
        assert rows == sorted(rows, key=expected.index)
    for name, source in dev_splits(task).items():
        assert as_rows(task, splits[name]) == stripped(official[source])
    for name, frame in splits.items():
        assert list(frame.columns) == ["idx", *spec.fields, "label"], name
        assert frame["idx"].tolist() == list(range(len(frame)))
        assert frame["idx"].dtype == "int64"
        assert all(frame[field].dtype == "string" for field in spec.fields)
        label_dtype = "float64" if spec.kind == registry.REGRESSION else "int64"
        assert frame["label"].dtype == label_dtype


@pytest.mark.parametrize("layout", LAYOUTS)
def test_label_words_and_columns_map_to_registry_order(loaded, layout: str):
    mnli = loaded["mnli", layout]
    assert mnli["test"]["label"].tolist() == [0, 1, 2, 0, 1]  # entailment, neutral, ...
    assert mnli["test"]["hypothesis"][1] == "mnli validation_matched hypothesis number 1 ."
    assert mnli["test_mismatched"]["premise"][2] == (
        "mnli validation_mismatched premise number 2 .")
    assert loaded["rte", layout]["test"]["label"].tolist() == [0, 1, 0, 1, 0]  # not_entailment
    assert loaded["qnli", layout]["test"]["label"].tolist() == [0, 1, 0, 1, 0]
    cola = loaded["cola", layout]["test"]
    assert cola["label"].tolist() == [0, 1, 0, 1, 0]
    assert cola["sentence"][0] == 'he said "hi cola validation sentence number 0 .'
    mrpc = loaded["mrpc", layout]["test"]
    assert mrpc["sentence2"][1] == "mrpc validation sentence2 number 1 ."
    assert loaded["stsb", layout]["test"]["label"].tolist() == [0.0, 0.37, 0.74, 1.11, 1.48]
    qqp = loaded["qqp", layout]
    assert len(qqp["train"]) + len(qqp["validation"]) == TRAIN_ROWS  # broken rows skipped


@pytest.mark.parametrize("task", GLUE)
def test_both_layouts_give_identical_frames(loaded, task: str):
    tsv, hub = loaded[task, "tsv"], loaded[task, "hub"]
    assert list(tsv) == list(hub)
    for name in tsv:
        pd.testing.assert_frame_equal(tsv[name], hub[name], check_exact=True)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_validation_is_seeded(tsv_dir: Path, hub_dirs: dict[str, Path], layout: str):
    directory = tsv_dir if layout == "tsv" else hub_dirs["rte"]
    first = load_glue_task("rte", layout, directory, 1, FRACTION)
    again = load_glue_task("rte", layout, directory, 1, FRACTION)
    other = load_glue_task("rte", layout, directory, 2, FRACTION)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["validation"].equals(other["validation"])
    pd.testing.assert_frame_equal(first["test"], other["test"])


def test_tiny_fraction_still_holds_out_one_row(tsv_dir: Path):
    splits = load_glue_task("sst2", "tsv", tsv_dir, SEED, 0.001)
    assert (len(splits["train"]), len(splits["validation"])) == (TRAIN_ROWS - 1, 1)


def test_qqp_skips_broken_rows_and_says_so_once_each(tsv_dir: Path, capsys):
    """A question with a line break is one malformed row over two lines (5-6), the row with
    the label `maybe` another (7): one note naming the file and the lines."""
    load_glue_task("qqp", "tsv", tsv_dir, SEED, FRACTION)
    assert notes(capsys) == [
        f"warning: glue qqp: skipped 2 malformed rows of {tsv_dir / 'QQP' / 'train.tsv'} (wrong "
        "column count or a non-integer label): lines 5-6, 7"]


def test_many_malformed_rows_list_the_first_few_lines(tmp_path: Path, capsys):
    root = write_tsv(tmp_path / "glue")
    path = root / "QQP" / "dev.tsv"
    with path.open("a", encoding="utf-8") as dev:
        dev.write("".join(f"{i}\t1\t2\tq ?\tq ?\tno\n" for i in range(8)))  # lines 7-14
    splits = load_glue_task("qqp", "tsv", root, SEED, FRACTION)
    assert len(splits["test"]) == DEV_ROWS
    assert notes(capsys)[-1].endswith(
        f"skipped 8 malformed rows of {path} (wrong column count or a non-integer label): "
        "lines 7, 8, 9, 10, 11 and 3 more")


def test_rows_without_text_or_label_are_dropped_and_named(tmp_path: Path, capsys):
    root = write_tsv(tmp_path / "glue")
    with (root / "SST-2" / "dev.tsv").open("a", encoding="utf-8") as dev:
        dev.write("   \t1\n")
    with (root / "MNLI" / "train.tsv").open("a", encoding="utf-8") as train:
        train.write("\t".join(["99", "1", "1e", "fiction", *"abcd", "p .", "h .", "-", "-"]))
        train.write("\n")
    sst2 = load_glue_task("sst2", "tsv", root, SEED, FRACTION)
    assert len(sst2["test"]) == DEV_ROWS
    assert notes(capsys) == [
        f"warning: glue sst2: dropped 1 of 6 rows of {root / 'SST-2' / 'dev.tsv'} (our test "
        "split) with an empty text or no label: line 7"]
    mnli = load_glue_task("mnli", "tsv", root, SEED, FRACTION)
    assert len(mnli["train"]) + len(mnli["validation"]) == TRAIN_ROWS
    assert notes(capsys) == [
        f"warning: glue mnli: dropped 1 of 21 rows of {root / 'MNLI' / 'train.tsv'} (our train "
        "split) with an empty text or no label: line 22"]


def test_hub_rows_without_text_are_dropped_and_named(tmp_path: Path, capsys):
    snapshot = write_hub(tmp_path / "hub")
    shard = snapshot / "sst2" / "validation-00000-of-00001.parquet"
    frame = pd.read_parquet(shard)
    frame.loc[[2, 4], "sentence"] = " "
    frame.to_parquet(shard, index=False)
    cached = cache_hub(snapshot, tmp_path / "cache", ["sst2"])
    capsys.readouterr()  # the cache stage's progress bars
    splits = load_glue_task("sst2", "hub", cached["sst2"], SEED, FRACTION)
    assert len(splits["test"]) == DEV_ROWS - 2
    assert notes(capsys) == [
        "warning: glue sst2: dropped 2 of 5 rows of nyu-mll/glue sst2 validation split (our test "
        "split) with an empty text or no label: rows 2, 4"]


def test_missing_directory_names_task_path_and_remedy(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="glue mrpc") as error:
        load_glue_task("mrpc", "tsv", missing, SEED, FRACTION)
    assert str(missing) in str(error.value)
    assert "download_glue_data.py" in str(error.value) and "msr_paraphrase" in str(error.value)
    with pytest.raises(FileNotFoundError, match="glue cola") as error:
        load_glue_task("cola", "hub", missing, SEED, FRACTION)
    assert f"no copy of the hub dataset nyu-mll/glue in {missing / 'dataset'}" in str(error.value)
    assert "cache stage" in str(error.value)


def test_every_missing_file_is_named_before_reading(tmp_path: Path):
    tsv = write_tsv(tmp_path / "tsv")
    (tsv / "MNLI" / "dev_mismatched.tsv").unlink()
    (tsv / "MNLI" / "train.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="glue mnli") as error:
        load_glue_task("mnli", "tsv", tsv, SEED, FRACTION)
    assert str(tsv / "MNLI" / "dev_mismatched.tsv") in str(error.value)
    assert str(tsv / "MNLI" / "train.tsv") in str(error.value)
    assert "or use source hub" in str(error.value)


def test_hub_copy_without_a_split_names_it(tmp_path: Path):
    snapshot = write_hub(tmp_path / "hub")
    configs = {t: {s: f"{t}/{s}-*" for s in hub_splits(t) if s != "validation"} for t in GLUE}
    write_card(snapshot, configs)
    cached = cache_hub(snapshot, tmp_path / "cache", ["stsb"])
    with pytest.raises(ValueError, match="glue stsb: .*nyu-mll/glue .*has no split 'validation'"):
        load_glue_task("stsb", "hub", cached["stsb"], SEED, FRACTION)


def test_unknown_label_word_names_file_and_line(tmp_path: Path):
    root = write_tsv(tmp_path / "glue")
    path = root / "RTE" / "dev.tsv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("not_entailment", "maybe")  # line 3 of the file
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="unknown label 'maybe'") as error:
        load_glue_task("rte", "tsv", root, SEED, FRACTION)
    assert f"{path} line 3" in str(error.value)


def test_wrong_column_count_names_file_and_line(tmp_path: Path):
    root = write_tsv(tmp_path / "glue")
    path = root / "CoLA" / "train.tsv"
    with path.open("a", encoding="utf-8") as train:
        train.write("gj04\t1\t\ta sentence\twith a tab\n")
    with pytest.raises(ValueError, match=re.escape(f"{path} line {TRAIN_ROWS + 1}: 5 tab-")):
        load_glue_task("cola", "tsv", root, SEED, FRACTION)


def test_unknown_task_or_layout_lists_the_valid_ones(tsv_dir: Path):
    with pytest.raises(ValueError, match="cola, sst2, mrpc"):
        load_glue_task("squad", "tsv", tsv_dir, SEED, FRACTION)
    with pytest.raises(ValueError, match="tsv, hub"):
        load_glue_task("cola", "csv", tsv_dir, SEED, FRACTION)


def test_hub_copy_of_another_file_layout_gives_the_same_frames(tmp_path: Path, loaded):
    """load_dataset knows the dataset's file layout (here the parquet converter's,
    `<config>/<split>/NNNN.parquet`): the copy, and so the frames, are the same."""
    snapshot = write_hub(tmp_path / "hub")
    for shard in list((snapshot / "rte").glob("*-00000-of-00001.parquet")):
        split = shard.name.split("-")[0]
        (snapshot / "rte" / split).mkdir()
        shard.rename(snapshot / "rte" / split / "0000.parquet")
    write_card(snapshot, {"rte": {s: f"rte/{s}/*.parquet" for s in hub_splits("rte")}})
    cached = cache_hub(snapshot, tmp_path / "cache", ["rte"])
    splits = load_glue_task("rte", "hub", cached["rte"], SEED, FRACTION)
    for name, frame in splits.items():
        pd.testing.assert_frame_equal(frame, loaded["rte", "hub"][name])


def test_hub_copy_without_a_field_or_with_a_bad_label_is_named(tmp_path: Path):
    snapshot = write_hub(tmp_path / "hub")
    for shard in (snapshot / "qnli").glob("*.parquet"):  # load_dataset unifies the splits
        pd.read_parquet(shard).drop(columns="question").to_parquet(shard)
    shard = snapshot / "sst2" / "train-00000-of-00001.parquet"
    frame = pd.read_parquet(shard)
    frame.loc[3, "label"] = 2
    frame.to_parquet(shard)
    cached = cache_hub(snapshot, tmp_path / "cache", ["qnli", "sst2"])
    with pytest.raises(ValueError, match=r"glue qnli: the train split of nyu-mll/glue .*"
                                         r"lacks column\(s\) question"):
        load_glue_task("qnli", "hub", cached["qnli"], SEED, FRACTION)
    with pytest.raises(ValueError, match=r"sst2 train split .* row 3: label 2 outside 0..1"):
        load_glue_task("sst2", "hub", cached["sst2"], SEED, FRACTION)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.99])
def test_validation_fraction_must_leave_train_rows(tsv_dir: Path, fraction: float):
    with pytest.raises(ValueError, match="glue rte"):
        load_glue_task("rte", "tsv", tsv_dir, SEED, fraction)
