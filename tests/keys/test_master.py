"""The master key: AES-256-GCM blobs bound to a context, and a 0600 key file created once."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from keys.master import KeyDecryptionError, MasterKey

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = b"issuer-key:2f1c9a4e-0000-4000-8000-000000000001"
SECRET = b"-----PKCS#8 bytes of an issuer key-----"


def test_encrypt_then_decrypt_returns_the_plaintext():
    master = MasterKey.generate()
    assert master.decrypt(master.encrypt(SECRET, context=CONTEXT), context=CONTEXT) == SECRET


def test_blob_is_version_nonce_ciphertext_and_tag():
    blob = MasterKey.generate().encrypt(SECRET, context=CONTEXT)
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + len(SECRET) + 16
    assert SECRET not in blob


def test_each_encryption_uses_a_fresh_nonce():
    master = MasterKey.generate()
    first, second = (master.encrypt(SECRET, context=CONTEXT) for _ in range(2))
    assert first[1:13] != second[1:13]
    assert first != second


def test_a_blob_moved_to_another_context_does_not_decrypt():
    master = MasterKey.generate()
    blob = master.encrypt(SECRET, context=CONTEXT)
    with pytest.raises(KeyDecryptionError, match="wrong context"):
        master.decrypt(blob, context=b"issuer-key:some-other-issuer")


def test_another_master_key_cannot_decrypt():
    blob = MasterKey.generate().encrypt(SECRET, context=CONTEXT)
    with pytest.raises(KeyDecryptionError, match="wrong master key"):
        MasterKey.generate().decrypt(blob, context=CONTEXT)


@pytest.mark.parametrize(
    "position", [1, 12, 13, -17, -1], ids=["nonce", "nonce-end", "body", "tag", "tag-end"]
)
def test_any_altered_byte_is_detected(position):
    master = MasterKey.generate()
    blob = bytearray(master.encrypt(SECRET, context=CONTEXT))
    blob[position] ^= 0x01
    with pytest.raises(KeyDecryptionError):
        master.decrypt(bytes(blob), context=CONTEXT)


def test_unknown_format_version_is_refused():
    master = MasterKey.generate()
    blob = master.encrypt(SECRET, context=CONTEXT)
    with pytest.raises(KeyDecryptionError, match="format version 2"):
        master.decrypt(b"\x02" + blob[1:], context=CONTEXT)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + bytes(27)])
def test_truncated_blob_is_refused(blob):
    with pytest.raises(KeyDecryptionError, match="too short"):
        MasterKey.generate().decrypt(blob, context=CONTEXT)


def test_context_must_be_bytes():
    with pytest.raises(TypeError, match="context must be bytes"):
        MasterKey.generate().encrypt(SECRET, context="issuer-key:1")  # type: ignore[arg-type]


def test_text_form_is_43_characters_of_base64url_and_round_trips():
    master = MasterKey.generate()
    text = master.to_text()
    assert len(text) == 43
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    again = MasterKey.from_text(text)
    assert again.to_text() == text
    assert again.decrypt(master.encrypt(SECRET, context=CONTEXT), context=CONTEXT) == SECRET


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A" * 42,
        "A" * 44,
        "A" * 43 + "=",  # padded
        "A" * 42 + "+",  # standard base64, not base64url
        "A" * 42 + "B",  # stray bits in the last character: not canonical
        " " + "A" * 42,
    ],
)
def test_from_text_rejects_anything_but_canonical_unpadded_base64url(text):
    with pytest.raises(ValueError, match="master key text"):
        MasterKey.from_text(text)


def test_from_text_error_does_not_echo_the_text():
    almost_a_key = MasterKey.generate().to_text() + "x"
    with pytest.raises(ValueError) as raised:
        MasterKey.from_text(almost_a_key)
    assert almost_a_key[:20] not in str(raised.value)


def test_repr_hides_the_key():
    master = MasterKey.generate()
    assert repr(master) == "MasterKey(<hidden>)"
    assert master.to_text() not in repr(master)


def test_load_or_create_creates_parent_directories_and_a_0600_file(tmp_path):
    path = tmp_path / "secrets" / "nested" / "master.key"
    master = MasterKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii").strip() == master.to_text()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_created_file_is_0600_even_with_a_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        MasterKey.load_or_create(tmp_path / "master.key")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


def test_second_load_returns_the_same_key(tmp_path):
    path = tmp_path / "master.key"
    first = MasterKey.load_or_create(path)
    second = MasterKey.load_or_create(path)
    assert second.to_text() == first.to_text()
    blob = first.encrypt(SECRET, context=CONTEXT)
    assert second.decrypt(blob, context=CONTEXT) == SECRET


def test_an_existing_key_file_is_read_not_replaced(tmp_path):
    path = tmp_path / "master.key"
    existing = MasterKey.generate()
    path.write_text(existing.to_text() + "\n", encoding="ascii")
    assert MasterKey.load_or_create(path).to_text() == existing.to_text()
    assert path.read_text(encoding="ascii") == existing.to_text() + "\n"


def test_a_corrupt_key_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "master.key"
    path.write_text("not a key\n", encoding="ascii")
    with pytest.raises(ValueError, match=r"master key file .*master\.key"):
        MasterKey.load_or_create(path)
    assert path.read_text(encoding="ascii") == "not a key\n"


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "keys" / "master.key"
    script = (
        "import sys; from pathlib import Path; from keys.master import MasterKey; "
        "print(MasterKey.load_or_create(Path(sys.argv[1])).to_text())"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert outputs == {path.read_text(encoding="ascii").strip()}
