"""The simulator's RTSP H.264 stream: a GStreamer RTSP server (gst-rtsp-server through PyGObject).

Each frame is drawn here: a moving bar (so that the encoder has motion to code) and, in the top-left corner, the
wall-clock time of the frame in milliseconds modulo 2**32 as a barcode of 32 blocks of 16x16 pixels (white = 1,
most significant bit first) between a white start block and a black end block. A browser reads it back from a
canvas to measure glass-to-glass latency.

Usage: /usr/bin/python3 rtsp-server.py --port 0 --path live --width 640 --height 360 --fps 15
Prints "PORT <n>" on stdout once it listens; stops on SIGTERM or when stdin closes.
With PFCAM_RTSP_USER and PFCAM_RTSP_PASSWORD in the environment (never in argv), the stream asks for HTTP Basic
credentials (GstRtspServer.RTSPAuth) as a camera with rtsp_auth does.
"""
import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

BLOCK = 16
BITS = 32


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="live")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--keyint", type=int, default=0, help="frames between keyframes (default: fps)")
    args = parser.parse_args()
    width, height, fps = args.width - args.width % BLOCK, args.height - args.height % 2, args.fps
    keyint = args.keyint or fps

    Gst.init(None)
    loop = GLib.MainLoop()
    gray, black, white = 128, 16, 235
    chroma = bytes([128]) * (width * height // 2)
    plain_row = bytes([gray]) * width

    def frame_bytes(counter):
        stamp = int(time.time() * 1000) % (2**BITS)
        bits = [1] + [(stamp >> (BITS - 1 - i)) & 1 for i in range(BITS)] + [0]
        code = b"".join(bytes([white if b else black]) * BLOCK for b in bits)
        code_row = code[:width] + plain_row[len(code):]
        bar_x = (counter * 8) % max(1, width - 32)
        bar_row = plain_row[:bar_x] + bytes([white]) * 32 + plain_row[bar_x + 32:]
        top = code_row * BLOCK + plain_row * BLOCK
        rest = bar_row * (height - 2 * BLOCK)
        return top + rest + chroma

    class Factory(GstRtspServer.RTSPMediaFactory):
        def __init__(self):
            super().__init__()
            self.set_shared(True)
            self.counter = 0

        def do_create_element(self, url):
            launch = (
                "appsrc name=src is-live=true do-timestamp=true format=time "
                f"caps=video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
                "! queue max-size-buffers=2 leaky=downstream "
                f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyint} bitrate=1500 "
                "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
            )
            return Gst.parse_launch(launch)

        def do_configure(self, media):
            src = media.get_element().get_child_by_name("src")
            state = {"on": True}

            def push():
                if not state["on"]:
                    return False
                self.counter += 1
                data = frame_bytes(self.counter)
                buf = Gst.Buffer.new_wrapped(data)
                buf.duration = Gst.SECOND // fps
                src.emit("push-buffer", buf)
                return True

            def unprepared(_media):
                state["on"] = False

            media.connect("unprepared", unprepared)
            GLib.timeout_add(max(1, 1000 // fps), push)

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = Factory()
    user, password = os.environ.get("PFCAM_RTSP_USER"), os.environ.get("PFCAM_RTSP_PASSWORD")
    if user and password:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        role = Gst.Structure.new_from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
        factory.add_role_from_structure(role)
    server.get_mount_points().add_factory("/" + args.path.strip("/"), factory)
    server.attach(None)
    print(f"PORT {server.get_bound_port()}", flush=True)

    def stop(*_):
        loop.quit()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            GLib.idle_add(loop.quit)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()
