"""The one pool of forked workers, for loading papers and for rendering pages.

Children share the parent's memory as it was at the fork (the loaded site, the planned pages),
take the next item from a shared counter, so that one long item (the search index) does not hold
up the others, and send back what `work` returns for it as pickled frames on a pipe; the parent
reads all pipes as they come. Only our own children write these pipes, so unpickling is safe.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import selectors
import struct
from typing import Any, BinaryIO, Callable, Iterable, Sequence, TypeVar

from digestgen.errors import DigestgenError

Item = TypeVar("Item")
_LENGTH = struct.Struct("!Q")


def quiet_collector() -> None:
    """In a short-lived forked worker: no cyclic garbage collection.

    Rendering and loading leave no reference cycles (measured: none in thousands of pages), while
    each collection walks the inherited site and touches its memory, which then gets copied.
    """
    gc.freeze()
    gc.disable()


def run_forked(
    items: Sequence[Item], work: Callable[[Item], Iterable[Any]], workers: int, received: Callable[[Any], None]
) -> None:
    """Call `work` on every item in up to `workers` forked children; `received` gets each record
    they yield, in the parent, as it arrives. A DigestgenError in a child is raised here."""
    counter = multiprocessing.get_context("fork").Value("i", 0)
    streams: dict[int, tuple[int, BinaryIO]] = {}
    for _ in range(min(workers, len(items))):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: work, report, and leave without running the parent's cleanup
            os.close(read_end)
            quiet_collector()
            os._exit(_child(items, work, counter, write_end))
        os.close(write_end)
        streams[read_end] = (pid, os.fdopen(read_end, "rb"))
    errors = _collect(streams, received)
    if errors:
        raise DigestgenError(errors[0])


def _collect(streams: dict[int, tuple[int, BinaryIO]], received: Callable[[Any], None]) -> list[str]:
    errors: list[str] = []
    with selectors.DefaultSelector() as selector:
        for _, stream in streams.values():
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            for selected, _ in selector.select():
                frame = _read_frame(selected.fileobj)  # type: ignore[arg-type]
                if frame is None:
                    selector.unregister(selected.fileobj)
                elif isinstance(frame, _Failed):
                    errors.append(frame.message)
                else:
                    received(frame)
    for pid, stream in streams.values():
        stream.close()
        os.waitpid(pid, 0)
    return errors


class _Failed:
    def __init__(self, message: str):
        self.message = message


def _read_frame(stream: BinaryIO) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    payload = stream.read(_LENGTH.unpack(header)[0])
    return pickle.loads(payload)


def _child(items: Sequence[Any], work: Callable[[Any], Iterable[Any]], counter: Any, fd: int) -> int:
    with os.fdopen(fd, "wb") as out:

        def send(record: Any) -> None:
            payload = pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
            out.write(_LENGTH.pack(len(payload)) + payload)
            out.flush()

        try:
            while True:
                with counter.get_lock():
                    index = counter.value
                    counter.value += 1
                if index >= len(items):
                    return 0
                for record in work(items[index]):
                    send(record)
        except DigestgenError as exc:
            send(_Failed(str(exc)))
            return 1
        except BaseException as exc:  # a bug in a child must still reach the parent as one line
            send(_Failed(f"internal error in a worker process: {type(exc).__name__}: {exc}"))
            return 1
