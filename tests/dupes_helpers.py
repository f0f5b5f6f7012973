"""A test set for duplicate detection: real customers plus planted, noisy copies of some."""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.workbook.validation import load


def base_customers(sample: Path, corpus: Path | None) -> pd.DataFrame:
    """The sample workbook's customers, and Chinook's (with their addresses) when present."""
    book, _ = load(sample)
    rows: list[dict[str, Any]] = [
        {k: r[k] for k in ("customer_id", "name", "email", "phone", "company")}
        for r in book.customers.to_dict("records")
    ]
    if corpus is not None:
        with open(corpus / "crm-samples" / "chinook" / "Customer.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rows.append(
                    {
                        "customer_id": f"K-{int(r['CustomerId']):04d}",
                        "name": f"{r['FirstName']} {r['LastName']}",
                        "email": r["Email"] or None,
                        "phone": r["Phone"] or None,
                        "company": r["Company"] or None,
                        "address": f"{r['Address']}, {r['City']}",
                    }
                )
    return pd.DataFrame(rows)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiounrst") + word[i + 1 :]


def _plain(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .replace("ø", "o")
        .replace("Ø", "O")
    )


def noisy_name(name: str, rng: random.Random) -> str:
    words = name.split()
    kind = rng.choice(["reorder", "comma", "typo", "plain", "lower", "typo_reorder"])
    if kind == "reorder":
        return " ".join([words[-1], *words[:-1]])
    if kind == "comma":
        return f"{words[-1]}, {' '.join(words[:-1])}"
    if kind == "typo":
        k = rng.randrange(len(words))
        return " ".join(_typo(w, rng) if i == k else w for i, w in enumerate(words))
    if kind == "plain":
        return _plain(name)
    if kind == "lower":
        return name.lower()
    return " ".join([_typo(words[-1], rng), *words[:-1]])


def noisy_email(email: str | None, rng: random.Random) -> str | None:
    if not email:
        return None
    local, _, domain = email.partition("@")
    kind = rng.choice(["upper", "gmail", "blank", "same", "tag"])
    if kind == "upper":
        return email.upper() if rng.random() < 0.5 else local.capitalize() + "@" + domain.upper()
    if kind == "gmail":  # the same Gmail box written with and without dots
        return None if rng.random() < 0.0 else f"{'.'.join(local.replace('.', ''))}@gmail.com"
    if kind == "tag":
        return f"{local}+shop@{domain}"
    return None if kind == "blank" else email


def noisy_phone(phone: str | None, rng: random.Random) -> str | None:
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    kind = rng.choice(["digits", "local", "intl00", "blank", "same"])
    if kind == "digits":
        return digits
    if kind == "local":
        return digits[-8:]
    if kind == "intl00":
        return "00" + digits
    return None if kind == "blank" else phone


def planted(
    base: pd.DataFrame, count: int, seed: int = 18
) -> tuple[pd.DataFrame, set[frozenset[str]]]:
    """``base`` plus ``count`` noisy copies of random customers; the true duplicate pairs."""
    rng = random.Random(seed)
    rows = base.to_dict("records")
    truth: set[frozenset[str]] = set()
    originals = rng.sample(rows, count)
    for n, orig in enumerate(originals, start=1):
        copy = dict(orig)
        copy["customer_id"] = f"D-{n:04d}"
        copy["name"] = noisy_name(str(orig["name"]), rng)
        if rng.random() < 0.4:  # two slips at once: "Hnasen, ola"
            copy["name"] = noisy_name(copy["name"].replace(",", ""), rng)
        email = orig.get("email")
        if isinstance(email, str) and rng.random() < 0.3 and "gmail" not in email:
            # The original was typed as a Gmail box too: same box, dots differ.
            local = email.partition("@")[0].replace(".", "")
            for r in rows:
                if r["customer_id"] == orig["customer_id"]:
                    r["email"] = f"{local}@gmail.com"
            email = f"{local}@gmail.com"
            copy["email"] = f"{'.'.join(local[:3])}{local[3:]}@gmail.com"
        else:
            copy["email"] = noisy_email(email if isinstance(email, str) else None, rng)
        phone = orig.get("phone")
        copy["phone"] = noisy_phone(phone if isinstance(phone, str) else None, rng)
        rows.append(copy)
        truth.add(frozenset((str(orig["customer_id"]), copy["customer_id"])))
    return pd.DataFrame(rows), truth


def synthetic(count: int, seed: int = 7) -> pd.DataFrame:
    """``count`` distinct customers from mixed first and last names, for timing."""
    rng = random.Random(seed)
    first = [
        "Ola",
        "Kari",
        "Per",
        "Anna",
        "Ingrid",
        "Lars",
        "Sofia",
        "Jonas",
        "Emma",
        "Nora",
        "Henrik",
        "Ida",
        "Magnus",
        "Sara",
        "Erik",
        "Maja",
        "Olav",
        "Linnea",
        "Tobias",
        "Hanna",
    ]
    last = [
        "Hansen",
        "Johansen",
        "Olsen",
        "Larsen",
        "Andersen",
        "Pedersen",
        "Nilsen",
        "Kristiansen",
        "Jensen",
        "Karlsen",
        "Berg",
        "Haugen",
        "Hagen",
        "Eriksen",
        "Bakken",
        "Dahl",
        "Lie",
        "Moen",
        "Strand",
        "Solberg",
    ]
    rows = []
    for n in range(count):
        # Namesakes on purpose: different people with the same name must not pair up.
        name = f"{rng.choice(first)} {rng.choice(last)} {rng.choice(last)}"
        rows.append(
            {
                "customer_id": f"S-{n:05d}",
                "name": name,
                "email": f"c{n}@example.com",
                "phone": f"+47 {40000000 + n * 7:08d}",
                "company": None,
            }
        )
    return pd.DataFrame(rows)
