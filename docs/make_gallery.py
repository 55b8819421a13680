"""Copy the figures of a finished run into docs/gallery/ as small PNGs for the README.

python docs/make_gallery.py            # after `snakemake --cores all`
"""

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 900  # pixels; small enough to keep in git, sharp enough to read


def main() -> None:
    out = ROOT / "docs" / "gallery"
    out.mkdir(parents=True, exist_ok=True)
    for png in sorted((ROOT / "results" / "figures").glob("fig*.png")):
        image = Image.open(png)
        if image.width > WIDTH:
            image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
        image.convert("RGB").quantize(colors=128).save(out / png.name, optimize=True)
        print(out / png.name)


if __name__ == "__main__":
    main()
