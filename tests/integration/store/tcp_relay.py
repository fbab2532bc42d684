"""A TCP relay, run as its own process: `python -m tests.integration.store.tcp_relay LISTEN_PORT TARGET_PORT`.

Killing it cuts every connection through it (a network outage) while the server behind it keeps its state. It
is a process, not a thread of the test, because a delta-rs call waiting on the network holds the GIL of the
process that made it (found in review), and would stall a relay thread of that process too.
"""

import contextlib
import socket
import sys
import threading


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def main(listen_port: int, target_port: int) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
