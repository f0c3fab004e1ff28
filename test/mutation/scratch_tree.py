"""A scratch copy of the tree for the mutation tools (recheck-survivors.py, inproc/driver.py,
inproc/crosscheck.py): src/ and test/ copied, package.json and tsconfig.json beside them,
node_modules linked, so a mutant written there never touches the worktree."""
import os, shutil, tempfile


def make_scratch(root, prefix):
    """Returns the path of a fresh scratch copy of `root` (removed by the caller)."""
    scratch = tempfile.mkdtemp(prefix=prefix)
    for d in ["src", "test"]:
        shutil.copytree(f"{root}/{d}", f"{scratch}/{d}", symlinks=True)
    for f in ["package.json", "tsconfig.json"]:
        shutil.copy(f"{root}/{f}", scratch)
    os.symlink(os.path.realpath(f"{root}/node_modules"), f"{scratch}/node_modules")
    return scratch
