"""A DataLoader dataset whose item 0 waits for item 3 (kept apart from the tests so spawned workers do not import
torch just to unpickle it)."""


class SlowFirst:
    """Item 0 is only ready once item 3 has been fetched (by the other worker): with two workers the batch
    [2, 3] finishes first, however loaded the machine is."""

    def __init__(self) -> None:
        import tempfile
        self.flag_dir = tempfile.mkdtemp()

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> int:
        import os
        import time
        flag = os.path.join(self.flag_dir, "item3")
        if i == 3:
            open(flag, "w").close()
        if i == 0:
            deadline = time.monotonic() + 60
            while not os.path.exists(flag) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)   # and a little longer, so that the other worker hands its batch over first
        return i
