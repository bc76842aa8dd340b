from django.shortcuts import render

from yaypay_mail.tenancy import role_required


@role_required()
def dashboard(request):
    return render(request, "statements/dashboard.html")
