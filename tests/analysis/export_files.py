"""Write export tables to a folder as the study app does; imported by name from test modules."""

import pandas as pd


def write_export(folder, tables: dict[str, pd.DataFrame], fmt: str = "csv"):
    """Write each table as ``folder/<name>.<fmt>`` and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_json(path, orient="records", lines=True)
    return folder
