"""The user and group models django-scim2 documents: Django's own, with its SCIM mixins."""
from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    name = models.CharField(max_length=150, unique=True)
    members = models.ManyToManyField("User", related_name="peer_groups", blank=True)

    @property
    def user_set(self):
        return self.members


class User(AbstractSCIMUserMixin, AbstractUser):
    @property
    def scim_groups(self):
        return self.peer_groups
