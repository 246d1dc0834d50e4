"""A stand-in for LaMa's weights: a TorchScript module with LaMa's call signature, and a server for it.

LaMa's real weights (big-lama.pt) cannot be fetched where the tests run; these
exercise the real loader, padding, cropping and download code instead.
"""

import http.server
import threading
from pathlib import Path

import torch

FILENAME = "big-lama.pt"


class FakeLama(torch.nn.Module):
    """LaMa's signature: image [1,3,H,W] in [0,1] and mask [1,1,H,W] -> image [1,3,H,W].

    It refuses sizes that are not multiples of 8, as the real network breaks on
    them, and fills the hole with a colour that encodes the size it was given:
    red = H / 2048, green = W / 2048.
    """

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[2], image.shape[3]
        if height % 8 != 0 or width % 8 != 0:
            raise RuntimeError("LaMa needs sizes that are multiples of 8")
        fill = torch.zeros_like(image)
        fill[:, 0] = height / 2048.0
        fill[:, 1] = width / 2048.0
        fill[:, 2] = 0.5
        return image * (1 - mask) + fill * mask


def build_module(path: Path) -> Path:
    torch.jit.save(torch.jit.script(FakeLama()), str(path))
    return path


class WeightsServer:
    """Serves one payload on 127.0.0.1; can announce more bytes than it sends, then hang up."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.cut_after: int | None = None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.payload)))
                self.end_headers()
                body = server.payload if server.cut_after is None else server.payload[: server.cut_after]
                self.wfile.write(body)
                self.wfile.flush()
                if server.cut_after is not None:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{FILENAME}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
