"""The browser studio: an HTTP + WebSocket server and its static page.

Two players pick a song and their levels in the browser, each with an input (computer
keys, a Web MIDI e-kit, or on-screen pads), and play together on one screen or on two
devices joined by a room code. Hits are stamped in the browser, put on the server's
clock by round-trip clock sync, and judged by the same live engine as terminal play.

Needs the ``web`` extra (FastAPI, uvicorn).
"""
