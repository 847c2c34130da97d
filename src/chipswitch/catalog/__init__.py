"""The catalog: chip, offering, model and source files on disk, loaded into typed specs (SI units).

`files` holds the file schemas (units in the keys, sources on every value); `loader` merges the
shipped data directory with user directories and converts to `hardware.spec` / `model.shape`.

The loader's names are imported on first use: `hardware.spec` builds its specs from the file
schemas in `catalog.files`, and the loader builds catalogs of those specs, so importing this
package must not import the loader eagerly (that would be a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chipswitch.catalog.loader import DATA_DIR as DATA_DIR
    from chipswitch.catalog.loader import Catalog as Catalog
    from chipswitch.catalog.loader import catalog_dirs as catalog_dirs
    from chipswitch.catalog.loader import load_catalog as load_catalog

#: Environment variable with extra catalog directories (os.pathsep-separated). Defined here,
#: not in the loader, so the CLI can name it in --help without loading the catalog code.
ENV_VAR = "CHIPSWITCH_CATALOG"

__all__ = ["DATA_DIR", "ENV_VAR", "Catalog", "catalog_dirs", "load_catalog"]
_LAZY = ("DATA_DIR", "Catalog", "catalog_dirs", "load_catalog")


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'chipswitch.catalog' has no attribute {name!r}")
    from chipswitch.catalog import loader

    value = getattr(loader, name)
    globals()[name] = value
    return value
