class Checkpoint:  # like the real one, not a tf.Module
    def __init__(self, **objects):
        self.objects = objects
