"""Call ids (`schemas.ids.call_id`): the format of entity ids, unique within a process and across forked workers."""

from __future__ import annotations

import os
import re

from taskstream.schemas.ids import call_id

ID = re.compile(r"^[0-9a-f]{32}$")


def test_call_ids_have_the_id_format_and_do_not_repeat() -> None:
    ids = [call_id() for _ in range(10_000)]
    assert all(ID.match(i) for i in ids) and len(set(ids)) == len(ids)


def test_a_forked_worker_draws_ids_of_its_own() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.write(write, " ".join(call_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split())
    ours = {call_id() for _ in range(100)}
    assert len(theirs) == 100 and not theirs & ours
