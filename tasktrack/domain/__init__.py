"""The pure core: task record, lifecycle, ids, listing value objects. No I/O imports."""
