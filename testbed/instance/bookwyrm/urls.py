from django.urls import path

from bookwyrm import views

urlpatterns = [path("", views.index, name="index")]
