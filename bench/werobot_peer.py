"""The peer beside us in bench/load.py: a WeRoBot 1.13 bot with its default SQLite session.

Run by bench/load.py inside its own venv (bench/.venv-werobot, made by load.py), never imported
by the project:

    bench/.venv-werobot/bin/python bench/werobot_peer.py PORT TOKEN APP_ID AES_KEY

It serves WeRoBot's own WSGI app with waitress (four threads, waitress's default) on loopback, in
safe mode, from the current folder, where WeRoBot makes its session file
(werobot_session.sqlite3). Each text is answered from the resident's session: how many messages
they have sent, and what they asked — a session read, a session write and a reply per message,
the least a bot that keeps dialogs does.
"""

import sys

import werobot
from waitress import serve


def main() -> None:
    port, token, app_id, aes_key = sys.argv[1:5]
    robot = werobot.WeRoBot(token=token, app_id=app_id, encoding_aes_key=aes_key)   # session: SQLiteStorage()

    @robot.text
    def answer(message, session):
        count = session.get("count", 0) + 1
        session["count"] = count
        return f"您好，这是您的第{count}条消息：{message.content}"

    serve(robot.wsgi, host="127.0.0.1", port=int(port), threads=4, _quiet=True)


if __name__ == "__main__":
    main()
