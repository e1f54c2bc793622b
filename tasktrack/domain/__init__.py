"""The pure core: task record, lifecycle, ids, listing value objects. No I/O imports, except
that id generation (``ids.py``) reads the clock, ``os.urandom``/``os.getpid`` and a lock."""
