"""A TCP proxy on 127.0.0.1 that adds a fixed round trip (half each way), order kept.

Kernel netem is not available on these machines; this stands in for a provider 40 ms away.
It shares the cores with the tools it measures, so it is written to cost little: asyncio
protocols (no streams, no task per chunk), one timer per direction that delivers every chunk
now due, and back pressure from the receiving side (a full send buffer pauses the reading side).
usage: python latency_proxy.py TARGET_HOST TARGET_PORT RTT_MS  (prints the port it listens on)
"""

import asyncio
import collections
import sys


class Direction:
    """Chunks read from one side, written to the other ``delay`` seconds later, in order."""

    def __init__(self, loop, delay):
        self.loop = loop
        self.delay = delay
        self.queue = collections.deque()
        self.timer = None
        self.target = None  # the transport written to
        self.source = None  # the transport read from (paused while the target is full)
        self.closing = False

    def push(self, data):
        self.queue.append((self.loop.time() + self.delay, data))
        if self.timer is None:
            self.timer = self.loop.call_at(self.queue[0][0], self.deliver)

    def close_later(self):
        """The source ended: close the target once what it sent has arrived."""
        self.closing = True
        if self.timer is None:
            self.timer = self.loop.call_at(self.loop.time() + self.delay, self.deliver)

    def deliver(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            self.target.write(self.queue.popleft()[1])
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self.deliver)
        elif self.closing and self.target is not None:
            self.target.close()


class Side(asyncio.Protocol):
    """One end of a proxied connection: what it reads goes out through ``outgoing``; when its
    own send buffer fills, the other side stops reading (``incoming.source``)."""

    def __init__(self, outgoing, incoming):
        self.outgoing = outgoing
        self.incoming = incoming
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.outgoing.source = transport
        self.incoming.target = transport

    def data_received(self, data):
        self.outgoing.push(data)

    def eof_received(self):
        self.outgoing.close_later()
        return True  # keep the transport open until the delayed data is delivered

    def connection_lost(self, exc):
        self.outgoing.close_later()

    def pause_writing(self):
        if self.incoming.source is not None:
            self.incoming.source.pause_reading()

    def resume_writing(self):
        if self.incoming.source is not None:
            self.incoming.source.resume_reading()


class Client(Side):
    """The side the tool connects to; it opens the upstream connection first."""

    def __init__(self, loop, host, port, delay):
        super().__init__(Direction(loop, delay), Direction(loop, delay))
        self.loop = loop
        self.upstream = (host, port)

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.pause_reading()  # until the upstream connection is there
        self.loop.create_task(self.connect())

    async def connect(self):
        try:
            await self.loop.create_connection(lambda: Side(self.incoming, self.outgoing), *self.upstream)
        except OSError:
            self.transport.close()
            return
        self.transport.resume_reading()


async def main(host, port, rtt_ms):
    loop = asyncio.get_running_loop()
    delay = rtt_ms / 2000.0
    server = await loop.create_server(lambda: Client(loop, host, port, delay), "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
