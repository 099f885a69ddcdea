#!/usr/bin/env python3
"""Writes the files the Converse document acceptance test sends (documents_converse.test.mjs).

PDFs with reportlab: a one-page invoice, a 20-page report, an encrypted one and an image-only
one (no text layer). DOCX and XLSX written here as the minimal Office Open XML zip packages, a
corrupt zip, and a legacy OLE2 header for the doc/xls cases. Usage: document_fixtures.py OUT_DIR
"""
import os
import sys
import zipfile

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def pdf(path, pages, encrypt=None, image_only=False):
    c = canvas.Canvas(path, pagesize=A4, encrypt=encrypt)
    for lines in pages:
        if image_only:
            c.setFillColorRGB(0.2, 0.2, 0.2)
            c.rect(72, 500, 300, 200, fill=1)  # drawn shapes only: nothing to extract
        y = 780
        for line in lines:
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()


def docx(path, paragraphs, table):
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    rows = "".join("<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>"
                                      for c in row) + "</w:tr>" for row in table)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.'
                   'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body>'
                   f"{body}<w:tbl>{rows}</w:tbl></w:body></w:document>")


def xlsx(path, name, rows):
    strings = []
    data = ""
    for r, row in enumerate(rows, start=1):
        data += f'<row r="{r}">'
        for col, value in enumerate(row):
            ref = f"{chr(ord('A') + col)}{r}"
            if isinstance(value, str):
                data += f'<c r="{ref}" t="s"><v>{len(strings)}</v></c>'
                strings.append(value)
            else:
                data += f'<c r="{ref}"><v>{value}</v></c>'
        data += "</row>"
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", f'<workbook {ns} xmlns:r="{rel}"><sheets>'
                   f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                   "</Relationships>")
        z.writestr("xl/sharedStrings.xml", f"<sst {ns}>" +
                   "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {ns}><sheetData>{data}</sheetData>"
                   "</worksheet>")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pdf(f"{out}/invoice.pdf", [["Invoice INV-2041", "Customer: Acme GmbH", "Total: 1,234.50 EUR"]])
    report = []
    for page in range(1, 21):
        lines = [f"Annual report, page {page} of 20"]
        lines += [f"Section {page}.{n}: revenue grew in region {n} while costs stayed flat."
                  for n in range(1, 21)]
        report.append(lines)
    pdf(f"{out}/report20.pdf", report)
    pdf(f"{out}/encrypted.pdf", [["Top secret"]], encrypt="s3cret")
    pdf(f"{out}/scan.pdf", [[]], image_only=True)
    docx(f"{out}/memo.docx", ["Memo: the launch moves to June.", "Owner: Dana"],
         [["Task", "Due"], ["Ship", "June 3"]])
    xlsx(f"{out}/prices.xlsx", "Prices", [["Item", "Price"], ["Bolt M6", 0.1], ["Nut M6", 0.05]])
    with open(f"{out}/corrupt.docx", "wb") as f:
        f.write(open(f"{out}/memo.docx", "rb").read()[:120])
    with open(f"{out}/legacy.bin", "wb") as f:
        f.write(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)


if __name__ == "__main__":
    main()
