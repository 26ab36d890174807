"""Cards, meter readings and keys in custody (门禁卡 / 抄表 / 钥匙保管): what the desk keeps
for a unit besides its people and its money; the move-in and move-out line builds on it."""


def init_app(app):
    """Register the custody pages (under /custody) and the models they keep."""
    from portal.blueprints.custody.views import bp

    app.register_blueprint(bp, url_prefix="/custody")
