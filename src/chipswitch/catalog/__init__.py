"""The catalog: chip, offering, model and source files on disk, loaded into typed specs (SI units).

`files` holds the file schemas (units in the keys, sources on every value); `loader` merges the
shipped data directory with user directories and converts to `hardware.spec` / `model.shape`.
"""

from chipswitch.catalog.loader import DATA_DIR, ENV_VAR, Catalog, catalog_dirs, load_catalog

__all__ = ["DATA_DIR", "ENV_VAR", "Catalog", "catalog_dirs", "load_catalog"]
