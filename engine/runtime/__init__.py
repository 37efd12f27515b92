"""What runs per frame: the :class:`~engine.runtime.stylizer.Stylizer` (prepared once per style
set, called per frame), the on-disk style-statistics cache, the temporal stabilizer and the
optical flow it uses. Built on ``engine.nets`` and ``engine.media``.
"""
