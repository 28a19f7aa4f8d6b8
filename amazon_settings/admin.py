from django.contrib import admin

from amazon_settings.models import SellerAccount


@admin.register(SellerAccount)
class SellerAccountAdmin(admin.ModelAdmin):
    list_display = ["display_name", "selling_partner_id", "region", "created_at"]
    list_filter = ["region"]
    search_fields = ["display_name", "selling_partner_id"]
