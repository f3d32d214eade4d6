from django.urls import path

from . import views

app_name = "loyalty"

urlpatterns = [
    path("join/<slug:store_code>/", views.join, name="join"),
    path("join/<slug:store_code>/poster/", views.poster, name="poster"),
    path("card/<str:token>/", views.card, name="card"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
