from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("returns/", views.return_list, name="returns"),
    path("stock/", views.stock, name="stock"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:pk>/print/", views.invoice_print, name="invoice_print"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoicing/<int:account_pk>/", views.invoicing_settings, name="invoicing"),
]
