"""The map's JavaScript bundle (git-ignored, built by scripts/setup and scripts/build-frontend with npm from the
pinned lock file) must be the build of the sources and lock file beside it: its banner records their hash, and
the build script, the set-up and this test compute that hash alike."""
from __future__ import annotations

import hashlib
import re

from explorer.component import BUNDLE

FRONTEND = BUNDLE.parent.parent


def sources_stamp() -> str:
    """sha256 of `sha256sum package-lock.json src/*.js` (what build.mjs and scripts/setup compute)."""
    files = ["package-lock.json"] + sorted(f"src/{p.name}" for p in (FRONTEND / "src").glob("*.js"))
    listing = "".join(f"{hashlib.sha256((FRONTEND / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def test_bundle_is_built_from_the_current_sources():
    head = BUNDLE.read_text()[:300]
    m = re.search(r"from sources ([0-9a-f]{64})", head)
    assert m, f"{BUNDLE} has no build banner"
    assert m.group(1) == sources_stamp(), "rebuild: cd explorer/component/frontend && npm ci && npm run build"


def test_lock_file_pins_esbuild():
    import json

    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    pkg = json.loads((FRONTEND / "package.json").read_text())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pkg["devDependencies"].values())
    assert lock["packages"]["node_modules/esbuild"]["version"] == pkg["devDependencies"]["esbuild"]
