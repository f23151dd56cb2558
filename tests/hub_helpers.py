"""Hub datasets offline: folders laid out as the hub stores a dataset (parquet or jsonl files and
the dataset card's `configs`), and the cache stage's copy of one, made by the very call the
cache stage makes (`datasets.load_dataset(folder, config)`, saved to disk)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from taskconflict.data.sources import save_hub_copy


def write_parquet(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), path)


def write_card(root: Path, configs: dict[str, dict[str, str]]) -> None:
    """The dataset card's YAML header: per config, each split's file pattern (as the hub's
    parquet datasets have it: `<config>/<split>-*` or `data/<split>-*`)."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, pattern in splits.items():
            lines += [f"  - split: {split}", f"    path: {pattern}"]
    (root / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def cache_copy(snapshot: Path, config: str, folder: Path) -> Path:
    """The cache stage's folder of one task whose hub dataset is the folder `snapshot`."""
    folder.mkdir(parents=True, exist_ok=True)
    save_hub_copy(str(snapshot), config, None, folder, cache_dir=str(folder.parent / ".hf"))
    return folder
