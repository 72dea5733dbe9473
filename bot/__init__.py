"""Confidential support chatbot for refugees and migrants in Peru at risk of trafficking."""
