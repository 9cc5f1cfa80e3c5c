"""The vocabulary a new installation starts with; admins extend and edit it.

Chosen for a general surgical-pathology archive like the RudolfV paper's (58 tissue types,
H&E, IHC and special stains, FFPE and frozen, six scanner makes). Scanner synonyms include
the vendor names OpenSlide reports, so metadata suggestions find them.
"""

# key, name, multi-valued, description, [(term, synonyms)]
CATEGORIES = [
    (
        "tissue",
        "Tissue / site",
        True,
        "Organ or anatomical site of the specimen",
        [
            ("Colon", ["large intestine"]),
            ("Rectum", []),
            ("Appendix", []),
            ("Small intestine", ["duodenum", "ileum", "jejunum"]),
            ("Stomach", ["gastric"]),
            ("Esophagus", ["oesophagus"]),
            ("Liver", ["hepatic"]),
            ("Gallbladder", []),
            ("Pancreas", []),
            ("Lung", ["pulmonary"]),
            ("Pleura", []),
            ("Breast", ["mamma"]),
            ("Prostate", []),
            ("Kidney", ["renal"]),
            ("Urinary bladder", ["bladder"]),
            ("Testis", []),
            ("Ovary", []),
            ("Uterus", ["endometrium"]),
            ("Cervix", []),
            ("Placenta", []),
            ("Skin", ["cutis"]),
            ("Soft tissue", []),
            ("Bone", []),
            ("Bone marrow", []),
            ("Lymph node", ["LN"]),
            ("Tonsil", []),
            ("Spleen", []),
            ("Thyroid", []),
            ("Adrenal gland", []),
            ("Brain", ["CNS"]),
            ("Head and neck", []),
            ("Salivary gland", []),
        ],
    ),
    (
        "stain",
        "Stain",
        False,
        "H&E, an immunohistochemical marker or a special stain",
        [
            ("H&E", ["HE", "H and E", "hematoxylin and eosin", "haematoxylin eosin"]),
            *[
                (f"IHC {marker}", [marker])
                for marker in (
                    "Ki-67",
                    "CD3",
                    "CD8",
                    "CD20",
                    "CD45",
                    "CD68",
                    "HER2",
                    "ER",
                    "PR",
                    "PD-L1",
                    "p53",
                    "CK7",
                    "CK20",
                    "CDX2",
                    "pan-CK",
                    "S100",
                    "SOX10",
                    "TTF-1",
                    "Desmin",
                    "SMA",
                )
            ],
            ("PAS", ["periodic acid-Schiff"]),
            ("Masson trichrome", ["trichrome"]),
            ("Giemsa", []),
            ("Ziehl-Neelsen", ["ZN"]),
            ("Congo red", []),
            ("Alcian blue", []),
            ("Reticulin", []),
            ("Elastica van Gieson", ["EvG", "van Gieson"]),
            ("Perls iron", ["Prussian blue", "Berliner Blau"]),
            ("Grocott", ["GMS"]),
        ],
    ),
    (
        "indication",
        "Indication / disease",
        True,
        "Diagnosis or question of the case",
        [
            ("Normal", ["no pathology"]),
            ("Inflammation", ["inflammatory"]),
            ("Dysplasia", []),
            ("Adenoma", []),
            ("Adenocarcinoma", []),
            ("Squamous cell carcinoma", ["SCC"]),
            ("Urothelial carcinoma", []),
            ("Neuroendocrine tumour", ["NET"]),
            ("Lymphoma", []),
            ("Melanoma", []),
            ("Sarcoma", []),
            ("Metastasis", []),
            ("Infection", []),
            ("Transplant", []),
        ],
    ),
    (
        "fixation",
        "Fixation",
        False,
        "How the tissue was preserved",
        [
            ("FFPE", ["formalin-fixed paraffin-embedded", "paraffin"]),
            ("Frozen", ["cryosection", "fresh frozen"]),
        ],
    ),
    (
        "scanner",
        "Scanner",
        False,
        "The scanner make (suggested from the slide's metadata)",
        [
            ("Leica Aperio", ["aperio", "leica"]),
            ("Hamamatsu NanoZoomer", ["hamamatsu"]),
            ("3DHISTECH Pannoramic", ["mirax", "3dhistech"]),
            ("Philips IntelliSite", ["philips"]),
            ("Roche Ventana", ["ventana"]),
            ("Zeiss Axio Scan", ["zeiss"]),
            ("Sakura VisionTek", ["sakura"]),
            ("Other or unknown scanner", ["generic-tiff"]),
        ],
    ),
    ("lab", "Lab", False, "The lab or site that made the slide", []),
    (
        "magnification",
        "Scan magnification",
        False,
        "Objective power of the scan",
        [
            ("10×", ["10x", "10"]),
            ("20×", ["20x", "20"]),
            ("40×", ["40x", "40"]),
            ("60×", ["60x", "60"]),
        ],
    ),
]


def load(category_model, term_model) -> None:
    """Create what is missing (idempotent). Takes the models so the data migration can pass
    its historical ones."""
    for order, (key, name, multi, description, terms) in enumerate(CATEGORIES):
        category, _ = category_model.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "multi_valued": multi,
                "description": description,
                "order": order,
            },
        )
        for term, synonyms in terms:
            term_model.objects.get_or_create(
                category=category, name=term, defaults={"synonyms": synonyms}
            )
