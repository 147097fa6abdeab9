"""A private X display and the few X11 calls needed to watch, photograph and close a window.

Used by the startup benchmark and the native-window test: start Xvfb, find QuLab's window by
its title, save a PNG of the screen, and close the window the way a user does (the window
manager's WM_DELETE_WINDOW message, which Qt handles like a click on the close button).
Plain ctypes over libX11, so no image or X library has to be installed from PyPI.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass


def xvfb_available() -> str | None:
    """Why no virtual display can be started here, or None when it can."""
    if not shutil.which("Xvfb"):
        return "Xvfb is not installed (Debian package xvfb)"
    if not ctypes.util.find_library("X11"):
        return "libX11 is not installed"
    return None


@contextlib.contextmanager
def xvfb(width: int = 1280, height: int = 900) -> Iterator[str]:
    """Run a private Xvfb and yield its DISPLAY name (":N", a free number chosen by Xvfb)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass(frozen=True)
class Window:
    id: int
    title: str
    x: int
    y: int
    width: int
    height: int


class _XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int), ("format", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_ubyte)), ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong), ("green_mask", ctypes.c_ulong), ("blue_mask", ctypes.c_ulong),
    ]


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
        ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong), ("class_", ctypes.c_int), ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p),
    ]


class _XClientMessageEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int), ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("client", _XClientMessageEvent), ("pad", ctypes.c_long * 24)]


IS_VIEWABLE = 2
Z_PIXMAP = 2
CLIENT_MESSAGE = 33
ANY_PROPERTY_TYPE = 0
ALL_PLANES = ctypes.c_ulong(-1).value


class Display:
    """A connection to one X display; use as a context manager."""

    def __init__(self, name: str) -> None:
        self.x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
        self._declare()
        self.handle = self.x.XOpenDisplay(name.encode())
        if not self.handle:
            raise RuntimeError(f"cannot open X display {name}")
        self.root = self.x.XDefaultRootWindow(self.handle)

    def _declare(self) -> None:
        x = self.x
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                 ctypes.POINTER(ctypes.c_uint)]
        x.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
            ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
        x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_XWindowAttributes)]
        x.XTranslateCoordinates.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int,
                                            ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
                                            ctypes.POINTER(ctypes.c_ulong)]
        x.XGetImage.restype = ctypes.POINTER(_XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x.XDestroyImage.argtypes = [ctypes.POINTER(_XImage)]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                 ctypes.POINTER(_XEvent)]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *_: object) -> None:
        self.x.XCloseDisplay(self.handle)

    def _children(self, window: int) -> list[int]:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not self.x.XQueryTree(self.handle, window, ctypes.byref(root), ctypes.byref(parent),
                                 ctypes.byref(children), ctypes.byref(count)):
            return []
        found = [children[i] for i in range(count.value)]
        if children:
            self.x.XFree(children)
        return found

    def _title(self, window: int) -> str:
        """_NET_WM_NAME (UTF-8, what Qt sets), else WM_NAME, of any property type."""
        for atom_name in (b"_NET_WM_NAME", b"WM_NAME"):
            atom = self.x.XInternAtom(self.handle, atom_name, False)
            actual_type, actual_format = ctypes.c_ulong(), ctypes.c_int()
            count, remaining, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.POINTER(ctypes.c_ubyte)()
            status = self.x.XGetWindowProperty(self.handle, window, atom, 0, 1024, False, ANY_PROPERTY_TYPE,
                                               ctypes.byref(actual_type), ctypes.byref(actual_format),
                                               ctypes.byref(count), ctypes.byref(remaining), ctypes.byref(data))
            if status == 0 and data:
                title = ctypes.string_at(data, count.value).decode("utf-8", "replace") \
                    if actual_format.value == 8 else ""
                self.x.XFree(data)
                if title:
                    return title
        return ""

    def find_window(self, title: str) -> Window | None:
        """The first viewable window whose title contains `title` (Qt shows the page title in it)."""
        pending = self._children(self.root)
        while pending:
            window = pending.pop(0)
            name = self._title(window)
            attributes = _XWindowAttributes()
            if title in name and self.x.XGetWindowAttributes(self.handle, window, ctypes.byref(attributes)) \
                    and attributes.map_state == IS_VIEWABLE:
                x, y, child = ctypes.c_int(), ctypes.c_int(), ctypes.c_ulong()
                self.x.XTranslateCoordinates(self.handle, window, self.root, 0, 0, ctypes.byref(x), ctypes.byref(y),
                                             ctypes.byref(child))
                return Window(window, name, x.value, y.value, attributes.width, attributes.height)
            pending.extend(self._children(window))
        return None

    def wait_for_window(self, title: str, timeout: float = 30.0) -> Window:
        deadline = time.monotonic() + timeout
        while (window := self.find_window(title)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no window titled {title!r} appeared within {timeout:.0f} s")
            time.sleep(0.05)
        return window

    def close(self, window: Window) -> None:
        """Ask the window to close, as the window manager's close button does."""
        event = _XEvent()
        event.client.type = CLIENT_MESSAGE
        event.client.window = window.id
        event.client.message_type = self.x.XInternAtom(self.handle, b"WM_PROTOCOLS", False)
        event.client.format = 32
        event.client.data[0] = self.x.XInternAtom(self.handle, b"WM_DELETE_WINDOW", False)
        event.client.data[1] = 0  # CurrentTime
        self.x.XSendEvent(self.handle, window.id, False, 0, ctypes.byref(event))
        self.x.XSync(self.handle, False)

    def pixels(self, x: int = 0, y: int = 0, width: int | None = None, height: int | None = None) -> Image:
        """An RGB copy of part of the screen (all of it by default)."""
        root = _XWindowAttributes()
        self.x.XGetWindowAttributes(self.handle, self.root, ctypes.byref(root))
        width = width or root.width - x
        height = height or root.height - y
        image = self.x.XGetImage(self.handle, self.root, x, y, width, height, ALL_PLANES, Z_PIXMAP)
        if not image:
            raise RuntimeError("XGetImage failed")
        try:
            stride = image.contents.bytes_per_line
            if image.contents.bits_per_pixel != 32:
                raise RuntimeError(f"unsupported X image depth {image.contents.bits_per_pixel} bpp")
            raw = ctypes.string_at(image.contents.data, stride * height)
        finally:
            self.x.XDestroyImage(image)
        rgb = bytearray(width * height * 3)
        for row in range(height):
            line = raw[row * stride: row * stride + width * 4]  # B, G, R, X per pixel (little endian)
            start = row * width * 3
            rgb[start: start + width * 3: 3] = line[2::4]
            rgb[start + 1: start + width * 3: 3] = line[1::4]
            rgb[start + 2: start + width * 3: 3] = line[0::4]
        return Image(width, height, bytes(rgb))


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    rgb: bytes

    def share_of(self, colour: tuple[int, int, int], tolerance: int = 12) -> float:
        """The fraction of pixels within `tolerance` of `colour` on every channel."""
        r0, g0, b0 = colour
        rgb = self.rgb
        hits = sum(1 for i in range(0, len(rgb), 3)
                   if abs(rgb[i] - r0) <= tolerance and abs(rgb[i + 1] - g0) <= tolerance
                   and abs(rgb[i + 2] - b0) <= tolerance)
        return hits / (self.width * self.height)

    def png(self) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        stride = self.width * 3
        rows = b"".join(b"\0" + self.rgb[y * stride: (y + 1) * stride] for y in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6))
                + chunk(b"IEND", b""))
