"""A community's bank details as the tests set them, and reading a payment QR back from an image
(zxing-cpp, a maintained decoder): shared by the API's, the PDF's and the bot's QR tests."""

from __future__ import annotations

import zxingcpp
from PIL import Image

BANK = {
    "recipient": 'СНТ "Сосенки"',
    "account": "40703810938000012345",
    "bank_name": "ПАО Сбербанк",
    "bic": "044525225",
    "corr_account": "30101810400000000225",
    "inn": "5003012345",
}


def decode(image: Image.Image) -> list[str]:
    """The texts of the QR codes in the image."""
    return [
        b.text
        for b in zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    ]
