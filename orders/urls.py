from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("export.<str:export_format>", views.order_export, name="export"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("returns/", views.return_list, name="returns"),
    path("returns/export.<str:export_format>", views.return_export, name="returns_export"),
    path("stock/", views.stock, name="stock"),
    path("stock/export.<str:export_format>", views.stock_export, name="stock_export"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/export.<str:export_format>", views.invoice_export, name="invoices_export"),
    path("invoices/<int:pk>/print/", views.invoice_print, name="invoice_print"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoicing/<int:account_pk>/", views.invoicing_settings, name="invoicing"),
]
