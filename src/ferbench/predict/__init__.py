"""``ferbench predict``: find faces in photos and videos and classify their expressions."""
