"""Where a fingerprint comes from: one module per kind of input, behind one interface.

``base.Source`` is the interface (which specs it claims, how it loads one) and
``registry`` lists every source in the order they are asked. Modules:

* ``live``: ``.``, this interpreter or the active environment (snapshot path)
* ``interpreter``: another interpreter, probed over stdin (``--python``)
* ``docker``: ``docker:IMAGE`` and ``docker-container:NAME``
* ``file``, ``stdin``, ``git``: a JSON document on disk, on ``-``, at ``REV:path``
* ``document``, ``pip_inspect``: what such a document holds (fingerprint or pip inspect)
* ``github``: ``github:REF:PATH``, a document at a revision through the GitHub API
* ``history``: ``@last``, ``@prev``, ``@N``, ``@YYYY-MM-DD``
* ``requirements``, ``pylock``: standard locks, the expected side of ``check`` only

Every document from outside is read through :mod:`envcheck.reader`. Nothing
here prints. This package file imports nothing, so ``envcheck snapshot`` loads
only ``live``.
"""
