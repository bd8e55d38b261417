from .training import Model


class Sequential(Model):
    pass
