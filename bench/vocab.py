"""Word lists for the generator: names, companies, titles, pages, campaigns, forms, events.

Plain data. Every list is ASCII without quotes, tabs or backslashes, so the generator may put
it straight into COPY text and JSON.
"""

__all__ = [
    "COMPANY_SUFFIXES", "COMPANY_WORDS", "CUSTOM_EVENTS", "FIRST_NAMES", "FORMS", "FREE_MAIL_DOMAINS",
    "INDUSTRIES", "LAST_NAMES", "PAGE_SECTIONS", "PAGE_TOPICS", "PRODUCTS", "REFERRERS", "REGIONS", "TOP_PAGES",
    "TAG_NAMES", "TITLES",
]


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""
james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan
joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony margaret
mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin
amanda brian dorothy george melissa timothy deborah ronald stephanie edward rebecca jason sharon jeffrey
laura ryan cynthia jacob kathleen gary amy nicholas angela eric shirley jonathan anna stephen brenda larry
pamela justin emma scott nicole brandon helen benjamin samantha samuel katherine gregory christine
alexander debra frank rachel patrick carolyn raymond janet jack catherine dennis maria jerry heather tyler
diane aaron ruth jose julie adam olivia nathan joyce henry virginia douglas victoria zachary kelly peter
lauren kyle christina ethan joan walter evelyn noah judith jeremy megan christian andrea keith cheryl roger
hannah terry jacqueline gerald martha harold gloria sean teresa austin ann carl sara arthur madison
lawrence frances dylan kathryn jesse janice jordan jean bryan abigail billy alice joe julia bruce judy
gabriel sophia logan grace albert denise willie amber alan doris juan marilyn wayne danielle elijah beverly
randy isabella roy theresa vincent diana ralph natalie eugene brittany russell charlotte bobby marie mason
kayla philip alexis louis lori ingrid lars sven astrid mateo lucia hugo chloe amelie yusuf aisha kenji
yuki wei mei arjun priya ravi ananya omar leila tomas ines pedro camila diego valentina
""")

LAST_NAMES = _words("""
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson
anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis
robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall
rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes
stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard
ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price
alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell
coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton
graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar
stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas
henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw
snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox
warren mills meyer rice schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne
grant dunn kelley spencer hawkins arnold pierce hansen larsen berg lindqvist novak kowalski muller
schneider fischer weber rossi bianchi dubois moreau tanaka suzuki wang zhang li sharma gupta khan ali
""")

COMPANY_WORDS = _words("""
acme apex arbor atlas aurora beacon birch blue bright cascade cedar cirrus civic cobalt comet copper coral
crest crimson delta ember evergreen falcon fern field flint forge fox frontier gale garnet glacier granite
harbor hawk helix horizon indigo iron ivory jade juniper keystone kite lake lantern laurel ledger lumen
lunar maple marble meadow meridian mesa metro mint monarch nimbus noble north nova oak onyx orbit orchid
pacific peak pine pioneer pixel polar prairie prism quantum quartz radiant raven redwood ridge river rock
sable sage sierra silver spark spruce star sterling stone summit sun swift terra tidal timber titan trail
true unity vale vector velvet vertex vista willow wind zenith
""")

COMPANY_SUFFIXES = [
    ("Labs", 8), ("Systems", 8), ("Group", 6), ("Inc", 10), ("LLC", 6), ("Partners", 4), ("Software", 7),
    ("Health", 3), ("Logistics", 3), ("Foods", 2), ("Capital", 3), ("Studio", 3), ("Analytics", 4),
    ("Networks", 3), ("Energy", 2), ("Retail", 2), ("Media", 3), ("Works", 3), ("Consulting", 4),
]

#: (industry, weight): a few dominate, as in a real B2B CRM.
INDUSTRIES = [
    ("Software", 22), ("Financial services", 10), ("Healthcare", 9), ("Manufacturing", 8), ("Retail", 7),
    ("Education", 6), ("Marketing and advertising", 6), ("Consulting", 5), ("Logistics", 4),
    ("Real estate", 4), ("Media", 3), ("Telecommunications", 3), ("Energy", 3), ("Hospitality", 3),
    ("Non-profit", 2), ("Government", 2), ("Agriculture", 1),
]

REGIONS = [("North America", 40), ("Europe", 30), ("Asia Pacific", 15), ("Latin America", 9),
           ("Middle East and Africa", 6)]

FREE_MAIL_DOMAINS = ["mail.example", "inbox.example", "post.example", "webmail.example"]

TITLES = [
    ("", 18), ("Marketing Manager", 8), ("Sales Manager", 6), ("Founder", 4), ("CEO", 4), ("CTO", 2),
    ("VP Marketing", 3), ("VP Sales", 3), ("Account Executive", 5), ("Software Engineer", 6),
    ("Product Manager", 5), ("Operations Manager", 4), ("Head of Growth", 2), ("Customer Success Manager", 3),
    ("Director of IT", 2), ("Procurement Lead", 2), ("Analyst", 4), ("Consultant", 3), ("Designer", 2),
    ("Office Manager", 2), ("CFO", 1), ("HR Manager", 2),
]

PAGE_SECTIONS = [
    ("blog", 30), ("docs", 14), ("features", 10), ("customers", 6), ("integrations", 8), ("resources", 8),
    ("webinars", 5), ("ebooks", 5), ("compare", 4), ("careers", 3), ("partners", 3), ("changelog", 4),
]

PAGE_TOPICS = _words("""
lead-scoring email-deliverability segmentation lifecycle-stages pipeline-hygiene crm-migration
marketing-automation ab-testing landing-pages forms double-opt-in gdpr sales-forecasting win-rate
deal-velocity customer-onboarding churn nps referral-programs webinars content-strategy seo
attribution reporting api webhooks zapier salesforce hubspot slack shopify wordpress import-csv
custom-fields tags lists campaigns templates personalization drip-campaigns retargeting lead-magnets
account-based-marketing routing round-robin territories quotas dashboards mobile security sso
""")

#: Fixed pages every site has, with their share of traffic before the generated ones.
TOP_PAGES = ["/", "/pricing", "/features", "/demo", "/signup", "/login", "/contact", "/about", "/blog"]

REFERRERS = ["", "", "", "https://www.google.example/", "https://www.bing.example/",
             "https://www.linkedin.example/", "https://news.example/", "https://twitter.example/"]

#: (form slug, lead magnet or "", weight)
FORMS = [
    ("newsletter-signup", "", 30), ("contact-us", "", 14), ("demo-request", "", 12),
    ("ebook-crm-playbook", "CRM Playbook (ebook)", 12), ("webinar-lifecycle-101", "Lifecycle 101 (webinar)", 9),
    ("whitepaper-scoring", "Lead scoring whitepaper", 7), ("free-trial", "Free trial", 10),
    ("guide-email-deliverability", "Deliverability guide", 6),
]

#: (type, channel, source, weight, properties as a list of alternative JSON bodies)
CUSTOM_EVENTS = [
    ("trial_started", "website", "api", 10, ['{"plan": "starter"}', '{"plan": "pro"}', '{"plan": "enterprise"}']),
    ("app_login", "website", "api", 30, ['{"device": "desktop"}', '{"device": "mobile"}']),
    ("webinar_attended", "webinar", "api", 8, ['{"webinar": "Lifecycle 101", "minutes": 45}',
                                               '{"webinar": "Scoring deep dive", "minutes": 30}']),
    ("sales_call", "sales_call", "manual", 10, ['{"outcome": "connected", "minutes": 12}',
                                                '{"outcome": "voicemail", "minutes": 1}']),
    ("live_chat", "live_chat", "api", 8, ['{"messages": 4}', '{"messages": 11}']),
    ("support_ticket", "support", "api", 8, ['{"priority": "low"}', '{"priority": "high"}']),
    ("invoice_paid", "billing", "api", 6, ['{"amount": 49}', '{"amount": 199}', '{"amount": 990}']),
    ("nps_response", "survey", "api", 4, ['{"score": 9}', '{"score": 6}', '{"score": 10}', '{"score": 3}']),
]

#: Tags a real account would have; the generator adds campaign-style ones to reach its count.
TAG_NAMES = _words("""
newsletter customer prospect lead vip trial partner webinar-attendee ebook-download churn-risk
enterprise smb mid-market event-saastr event-webinar-2025 product-pro product-starter beta-tester
agency reseller decision-maker influencer do-not-call upsell renewal-q1 renewal-q2 renewal-q3 renewal-q4
onboarding advocate reference-customer investor press student nonprofit competitor-user
""")

#: (deal product label, value scale)
PRODUCTS = [("Starter plan", 0.4), ("Pro plan", 1.0), ("Enterprise plan", 3.5), ("Onboarding package", 0.6),
            ("Annual renewal", 1.2), ("Expansion seats", 0.8), ("Consulting", 1.5)]
