"""Privacy that keeps its promises: keys, retention, and what a person can see and erase.

Why a package: what the welcome and /privacy promise (nothing kept without consent,
encryption at rest, retention, a readable export, a delete that cannot misfire) is
spread over storage, the engine and the Telegram adapter; the policy itself lives here.

- `keyring`: AES-GCM sealing with a ring of named keys (rotation without downtime);
- `keysource`: where the ring comes from (`DATA_KEY`, or a generated key file);
- `retention`: the purge and expiry jobs that run inside the bot;
- `export`: the readable text and JSON documents of `/export`;
- `desk`: `/export`, `/delete` and `/privacy` as durable, one-transaction actions.

This `__init__` imports nothing, so that `bot.storage` can use the key ring without an
import cycle; import the modules themselves.
"""
