"""`make bench`: the load, scale and memory benchmark of issue #10 (see README "Performance")."""
