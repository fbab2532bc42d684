"""What the lake refuses: defined here, below the store, and re-exported by `projections.store.errors`."""


class LakeError(Exception):
    """Base of every error the lake raises on purpose."""


class LakeCorrupted(LakeError):
    """The lake holds a file it should not, misses one it should, or disagrees with the journal."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class SealerBusy(LakeError):
    """Another process owns writing the lake (the sealer lock), so this one may not write it now."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
