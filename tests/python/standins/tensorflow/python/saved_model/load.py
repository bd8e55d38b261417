class _UserObject:
    """What tf.saved_model.load revives."""

    def __init__(self, files):
        self.files = files
