# SPDX-License-Identifier: MIT
"""A loopback RESP server for tests that need a Redis (or a sentinel) to
answer exactly as they say: one thread per connection, every command name
recorded, answered by `answer(args)` (args as bytes; None: never answer)."""

import socket
import threading


class RespServer:
    def __init__(self, answer=None):
        self.answer = answer or self._answer
        self.commands = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _answer(self, args):  # subclasses answer here
        return b"+OK\r\n"

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_command(f):
        line = f.readline()
        if not line:
            return None
        assert line.startswith(b"*"), line
        args = []
        for _ in range(int(line[1:])):
            n = int(f.readline()[1:])
            args.append(f.read(n + 2)[:-2])
        return args

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                args = self._read_command(f)
                if args is None:
                    return
                self.commands.append(args[0].upper().decode("latin-1"))
                out = self.answer(args)
                if out is not None:
                    conn.sendall(out)
        except (OSError, ValueError):
            return


def bulk_array(*items):
    """A RESP array of bulk strings."""
    return (f"*{len(items)}\r\n" + "".join(f"${len(i)}\r\n{i}\r\n" for i in items)).encode()
