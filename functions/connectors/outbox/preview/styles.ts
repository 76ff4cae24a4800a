/** The page's own styles (layout, views) and each target's look. No url(), no @import: nothing loads. */
export const PAGE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "Segoe UI",system-ui,-apple-system,Helvetica,Arial,sans-serif;color:#1f2328;background:#f3f4f6}
.page-head{background:#fff;border-bottom:1px solid #d0d7de;padding:14px 24px 10px}
h1{margin:0 0 4px;font-size:22px}
.muted{color:#656d76;font-weight:normal}
.stats{margin:4px 0 8px}
.views{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #d0d7de;padding:6px 24px;display:flex;flex-wrap:wrap;gap:4px 6px;align-items:center;font-size:13px}
.views-label{font-weight:600;color:#656d76;margin-left:10px}
.views a{display:inline-block;border:1px solid #d0d7de;border-radius:14px;padding:1px 10px;color:#1f2328;text-decoration:none;background:#f6f8fa;white-space:nowrap}
.views a:hover{background:#eaeef2}
.views a .n{color:#656d76;font-size:11px}
.views a.has-failed{border-color:#cf222e}
.anchor{display:block;height:0;overflow:hidden}
main{padding:12px 24px 48px}
.banner{display:none;background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;padding:8px 12px;margin:0 0 12px;font-size:15px}
.banner-all{display:block;background:none;border:0;padding:0;color:#656d76;font-size:13px}
.receivers{border-collapse:collapse;font-size:13px;margin:6px 0}
.receivers th,.receivers td{border:1px solid #d0d7de;padding:2px 8px;text-align:left}
.receivers th{background:#f6f8fa}
.num{text-align:right}
.incident{margin:0 0 28px}
.incident-head{background:#fff;border:1px solid #d0d7de;border-left:5px solid #6264a7;border-radius:6px;padding:8px 12px;margin:0 0 8px}
h2{font-size:18px;margin:0}
.incident-meta{font-size:12px;margin-top:2px}
.sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;background:#eaeef2;vertical-align:middle}
.sev-high{background:#ffebe9;color:#82071e}.sev-medium{background:#fff8c5;color:#7d4e00}.sev-low{background:#ddf4ff;color:#0550ae}
.timeline{list-style:none;margin:0;padding:0 0 0 18px;border-left:3px solid #c8ccf0}
.moment{margin:0 0 16px;position:relative}
.moment::before{content:"";position:absolute;left:-27px;top:4px;width:15px;height:15px;border-radius:50%;background:#6264a7;border:3px solid #f3f4f6}
.moment-head{font-weight:600;margin:0 0 6px}
.moment-changes{font-weight:normal}
.moment-cards{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.card{flex:1 1 560px;max-width:820px;min-width:0;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 12px}
.card-narrow{flex:0 1 340px}
.card-error{border-color:#cf222e}
.card-failed{border:2px solid #cf222e;background:#fff5f5}
.card-head{font-size:12px;margin-bottom:8px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.fmt{background:#6264a7;color:#fff;border-radius:10px;padding:1px 8px;font-weight:600}
.card-failed .fmt{background:#cf222e}
.card-receiver{font-weight:600}
.file{color:#656d76;font:11px ui-monospace,Consolas,monospace;overflow-wrap:anywhere}
.failed-head{font-weight:700;color:#82071e;font-size:15px}
.failed-reason{font:13px/1.4 ui-monospace,Consolas,monospace;background:#ffebe9;border-radius:4px;padding:6px 8px;margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}
.failed-box{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:8px 10px;margin:8px 0;overflow-wrap:anywhere}
.failed-box ul{margin:4px 0 0;padding-left:18px}
.failed-box a{color:#82071e}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;border-radius:6px;padding:8px;margin:6px 0;font:12px/1.4 ui-monospace,Consolas,monospace}
.email-text summary{cursor:pointer;color:#656d76}
.html-frame{display:block;box-sizing:content-box;width:100%;height:auto;min-height:60px;border:0;border-top:1px solid #d0d7de;background:#fff}
code{font:12px ui-monospace,Consolas,monospace;background:#eff1f3;border-radius:4px;padding:0 3px;overflow-wrap:anywhere}
.plain{white-space:pre-wrap;overflow-wrap:anywhere}
.chip{display:inline-block;background:#eef0ff;border:1px solid #c8ccf0;border-radius:10px;padding:0 7px;font-size:12px;margin:1px 0}
.mention{background:#e8f1fb;color:#1264a3;border-radius:3px;padding:0 2px}
.blocked-link{color:#9a6700;background:#fff8c5;border-radius:3px;padding:0 3px;font-size:12px;overflow-wrap:anywhere}
.placeholder{border:1px dashed #9a6700;background:#fff8c5;color:#4d3800;border-radius:4px;padding:4px 8px;margin:4px 0;font-size:12px}
.placeholder pre{background:#fffbe6}
.placeholder-label{font-weight:600}
.error-box{border:1px solid #cf222e;background:#ffebe9;color:#82071e;border-radius:6px;padding:8px 10px;margin:8px 0;overflow-wrap:anywhere}
.error-box pre{background:#fff;color:#1f2328}
.avatar{display:inline-flex;align-items:center;justify-content:center;width:32px;height:32px;border-radius:50%;font-weight:700;font-size:12px;flex:none}
/* email */
.email-headers{border-collapse:collapse;margin-bottom:8px;font-size:13px}
.email-headers th{text-align:right;color:#656d76;font-weight:600;padding:1px 10px 1px 0;vertical-align:top;white-space:nowrap}
.email-headers td{overflow-wrap:anywhere}
.email-attachments{font-size:12px;margin:6px 0 0;padding-left:18px}
/* teams */
.teams{max-width:560px}
.teams-head{display:flex;gap:8px;align-items:center;margin-bottom:6px;font-size:13px}
.teams-avatar{background:#6264a7;color:#fff;border-radius:6px}
.teams-sender{font-weight:600}
.teams-text{margin:0 0 6px}
.ac-card{background:#fff;border:1px solid #e1dfdd;border-radius:6px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.12);font-family:"Segoe UI",system-ui,sans-serif;color:#242424;overflow-wrap:anywhere}
.ac-element+.ac-element{margin-top:8px}
.ac-hidden{opacity:.55;border-left:3px dotted #999;padding-left:6px}
.ac-hidden-note{display:block;font-size:11px;color:#616161}
.ac-separator{border:0;border-top:1px solid #e1dfdd;margin:8px 0}
.ac-textblock,.ac-richtext{font-size:14px}
.ac-size-small{font-size:12px}.ac-size-medium{font-size:17px}.ac-size-large{font-size:21px}.ac-size-extralarge{font-size:26px}
.ac-weight-bolder{font-weight:700}.ac-weight-lighter{font-weight:300}
.ac-subtle{opacity:.7}
.ac-color-accent{color:#5b5fc7}.ac-color-good{color:#237b4b}.ac-color-warning{color:#c19c00}.ac-color-attention{color:#c4314b}.ac-color-light{color:#8a8886}.ac-color-dark{color:#201f1e}
.ac-align-center{text-align:center}.ac-align-right{text-align:right}
.ac-nowrap{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ac-factset{border-collapse:collapse}
.ac-factset th{text-align:left;font-weight:600;padding:2px 16px 2px 0;vertical-align:top;white-space:nowrap}
.ac-factset td{padding:2px 0}
.ac-columnset{display:flex;gap:10px}
.ac-column{min-width:0}
.ac-container{padding:2px 0}
.ac-style-emphasis{background:#f5f5f5;padding:8px;border-radius:4px}
.ac-style-good{background:#e7f2da;padding:8px;border-radius:4px}.ac-style-attention{background:#fcf4f6;padding:8px;border-radius:4px}
.ac-style-warning{background:#fbf6d9;padding:8px;border-radius:4px}.ac-style-accent{background:#e8ebfa;padding:8px;border-radius:4px}
.ac-image-small{width:40px}.ac-image-medium{width:80px}.ac-image-large{width:160px}.ac-image-stretch{width:100%}.ac-image-auto{max-width:100%}
.ac-image-person{border-radius:50%}
.ac-imageset{display:flex;gap:6px;flex-wrap:wrap}
.ac-table{border-collapse:collapse;width:100%}.ac-table th,.ac-table td{border:1px solid #e1dfdd;padding:4px;text-align:left;vertical-align:top}
.ac-actions{display:flex;gap:8px;flex-wrap:wrap;margin-top:12px}
.ac-action{display:inline-block;border:1px solid #d1d1d1;border-radius:4px;padding:5px 12px;color:#242424;text-decoration:none;font-weight:600;font-size:13px;background:#fff}
a.ac-action:hover{background:#f5f5f5}
.ac-action-inert{color:#616161}
.ac-showcard summary{list-style:none;cursor:pointer}
/* slack */
.slack{display:flex;gap:8px;max-width:640px;font-family:Lato,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1c1d;overflow-wrap:anywhere}
.slack-avatar{background:#4a154b;color:#fff;border-radius:6px;width:36px;height:36px}
.slack-body{flex:1;min-width:0}
.slack-head{font-size:14px}
.app-badge{background:#e8e8e8;color:#616061;font-size:10px;font-weight:700;border-radius:2px;padding:0 3px}
.slack-header{font-size:18px;font-weight:900;margin:4px 0}
.slack-section{display:flex;gap:8px;margin:4px 0}
.slack-section-main{flex:1}
.slack-fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin-top:6px}
.slack-context{font-size:12px;color:#616061;margin:4px 0}
.slack-divider{border:0;border-top:1px solid #e8e8e8;margin:8px 0}
.slack-actions{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0}
.slack-button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:3px 12px;font-weight:700;font-size:13px;color:#1d1c1d;text-decoration:none;background:#fff}
.slack-button-primary{background:#007a5a;border-color:#007a5a;color:#fff}
.slack-button-danger{color:#e01e5a;border-color:#e01e5a}
.slack-pre{background:#f8f8f8;border:1px solid #e8e8e8}
.slack-attachment{border-left:4px solid #ddd;padding:2px 10px;margin:6px 0}
.slack-att-title{font-weight:700}
.slack-fallback{font-size:11px;color:#868686;margin-top:6px}
.slack-image{max-width:360px}.slack-image-small{width:20px;height:20px;vertical-align:middle}
.slack a:not(.slack-button),.teams a:not(.ac-action),.adf a,.ticket a{color:#1264a3}
/* sms */
.phone{width:300px;border:8px solid #1f2328;border-radius:28px;padding:12px 12px 16px;background:#fff}
.phone-bar{text-align:center;font-size:11px;color:#656d76;margin-bottom:10px}
.sms-bubble{background:#e9e9eb;color:#000;border-radius:18px;padding:8px 12px;white-space:pre-wrap;overflow-wrap:anywhere;max-width:88%}
.sms-meta{font-size:11px;color:#656d76;margin-top:8px}
/* voice */
.call{max-width:640px}
.call-head{font-weight:600;margin-bottom:4px}
.call-script{margin:4px 0;padding-left:22px}
.call-script li{margin:4px 0}
.verb{font-weight:600}
.spoken{margin:4px 0;padding:6px 10px;border-left:3px solid #6264a7;background:#f6f6fb;font-style:italic;overflow-wrap:anywhere}
/* tickets */
.ticket{max-width:760px;border-left:4px solid #0052cc;padding-left:12px;overflow-wrap:anywhere}
.ticket-head{display:flex;gap:8px;align-items:center;font-size:12px}
.ticket-system{color:#656d76;font-weight:600}
.op{border-radius:4px;padding:1px 8px;font-weight:700;text-transform:uppercase;font-size:11px;background:#ddd}
.op-create,.op-trigger{background:#dafbe1;color:#116329}
.op-update,.op-transition,.op-acknowledge{background:#ddf4ff;color:#0550ae}
.op-comment{background:#fbefff;color:#8250df}
.op-resolve{background:#eaeef2;color:#24292f}
.ticket-title{font-size:17px;font-weight:600;margin:6px 0}
.ticket-fields{border-collapse:collapse;font-size:13px;margin:6px 0}
.ticket-fields th{text-align:left;color:#656d76;font-weight:600;padding:2px 14px 2px 0;vertical-align:top;white-space:nowrap}
.ticket-fields td{padding:2px 0}
.ticket-section{margin-top:8px}
.ticket-section-label{font-size:12px;font-weight:700;color:#656d76;text-transform:uppercase;letter-spacing:.03em;margin-bottom:2px}
.adf p{margin:4px 0}
.adf-h{font-weight:700;margin:8px 0 4px}.adf-h1{font-size:22px}.adf-h2{font-size:19px}.adf-h3{font-size:17px}.adf-h4{font-size:15px}.adf-h5,.adf-h6{font-size:14px}
.adf-panel{border-radius:3px;padding:6px 10px;margin:6px 0;background:#deebff}
.adf-panel-note{background:#eae6ff}.adf-panel-warning{background:#fffae6}.adf-panel-success{background:#e3fcef}.adf-panel-error{background:#ffebe6}
.adf-table{border-collapse:collapse}.adf-table th,.adf-table td{border:1px solid #dfe1e6;padding:4px 6px}
blockquote{margin:4px 0;padding-left:10px;border-left:3px solid #d0d7de;color:#444}
.empty{font-size:16px;color:#656d76}
`;
